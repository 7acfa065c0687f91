package dev.frugal.trainer.report;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The little HTML the pages need: escaping, relative links, and one page frame with inline CSS,
 * so a page opens from disk with no network.
 */
final class Html {
    private static final String CSS = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 960px; padding: 0 1em; color: #222; }
        h1 { font-size: 1.5em; margin-bottom: 0.2em; }
        h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
        .path { color: #666; font-family: ui-monospace, monospace; font-size: 0.9em; word-break: break-all; }
        table { border-collapse: collapse; font-size: 0.95em; }
        th, td { text-align: left; padding: 0.25em 0.9em 0.25em 0; vertical-align: top; border-bottom: 1px solid #eee; }
        th { font-weight: 600; color: #444; }
        td.num { font-variant-numeric: tabular-nums; }
        figure { margin: 1.2em 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
        .skipped { color: #666; font-size: 0.9em; }
        footer { margin-top: 3em; color: #888; font-size: 0.8em; }
        """;

    private Html() {
    }

    /**
     * Escapes text for an HTML element or a quoted attribute.
     *
     * @param text any text; null gives the empty string
     * @return the text with {@code & < > " '} escaped
     */
    static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * A relative URL from path segments, each percent-encoded (a directory named after the output
     * file may hold spaces or {@code #}).
     *
     * @param segments the path's names, in order
     * @return e.g. {@code "compare%20a-plots/loss.png"}
     */
    static String relativeUrl(String... segments) {
        StringBuilder out = new StringBuilder();
        for (String segment : segments) {
            if (!out.isEmpty()) {
                out.append('/');
            }
            for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
                char c = (char) (b & 0xff);
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                    out.append(c);
                } else {
                    out.append('%').append(String.format("%02X", b & 0xff));
                }
            }
        }
        return out.toString();
    }

    /**
     * Starts a page.
     *
     * @param title the page's title (plain text)
     * @return the head and the opening of the body
     */
    static StringBuilder page(String title) {
        StringBuilder html = new StringBuilder(16_384);
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .append(escape(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        return html;
    }

    /**
     * Ends a page.
     *
     * @param html the page so far
     * @param footer the footer's plain text
     * @return the whole page
     */
    static String end(StringBuilder html, String footer) {
        html.append("<footer>").append(escape(footer)).append("</footer>\n</body>\n</html>\n");
        return html.toString();
    }

    /** Appends a figure for a plot. */
    static void figure(StringBuilder html, String url, String title) {
        html.append("<figure><img src=\"").append(escape(url)).append("\" alt=\"").append(escape(title))
            .append("\" width=\"").append(Charts.WIDTH).append("\" height=\"").append(Charts.HEIGHT).append("\"></figure>\n");
    }

    /** Appends a list of plain-text items with a lead-in, or nothing when there are none. */
    static void notes(StringBuilder html, String lead, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        html.append("<p class=\"skipped\">").append(escape(lead)).append("</p>\n<ul class=\"skipped\">\n");
        for (String item : items) {
            html.append("<li>").append(escape(item)).append("</li>\n");
        }
        html.append("</ul>\n");
    }
}
