package dev.frugal.cuda.nvrtc;

import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns an NVRTC log into a message a person can act on: the log itself, then the numbered
 * source lines around every line the log blames, with the blamed line marked.
 */
final class CompileErrorReport {
  private static final int CONTEXT_LINES = 2;

  private CompileErrorReport() {}

  static String format(String programName, String source, String log) {
    String[] lines = source.split("\n", -1);
    Pattern position = Pattern.compile(Pattern.quote(programName) + "\\((\\d+)\\): (?:error|catastrophe)");
    Matcher matcher = position.matcher(log);
    TreeSet<Integer> blamed = new TreeSet<>();
    while (matcher.find()) {
      blamed.add(Integer.parseInt(matcher.group(1)));
    }
    StringBuilder message = new StringBuilder("compile log:\n").append(log.strip()).append('\n');
    if (!blamed.isEmpty()) {
      message.append("source around the errors:\n");
      int width = String.valueOf(lines.length).length();
      int lastPrinted = 0;
      for (int line : blamed) {
        int from = Math.max(Math.max(1, line - CONTEXT_LINES), lastPrinted + 1);
        int to = Math.min(lines.length, line + CONTEXT_LINES);
        if (from > lastPrinted + 1 && lastPrinted > 0) {
          message.append("   ...\n");
        }
        for (int i = from; i <= to; i++) {
          message.append(blamed.contains(i) ? ">" : " ").append(' ')
              .append(String.format("%" + width + "d", i)).append(" | ").append(lines[i - 1]).append('\n');
          lastPrinted = i;
        }
      }
    }
    return message.toString();
  }
}
