package dev.frugal.trainer.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes a {@link Curriculum}'s difficulty scores, one per training sample (lower is
 * easier), as text:
 *
 * <ul>
 *   <li>one number per line, line {@code i} (from 1) scoring sample {@code i - 1}; or</li>
 *   <li>CSV, {@code index,score} per line (in any order, each index from 0 exactly once), with an
 *       optional header line such as {@code index,score}.</li>
 * </ul>
 *
 * Blank lines at the end are ignored; any other defect (a wrong count, an unparsable or
 * non-finite number, a blank line inside, a repeated or out-of-range index) fails with a message
 * naming the file and the line.
 */
public final class CurriculumScores {
    private CurriculumScores() {
    }

    /**
     * Reads the scores of {@code expectedCount} samples.
     *
     * @param file the scores file
     * @param expectedCount the number of training samples
     * @return the scores, indexed by sample
     * @throws IOException when the file cannot be read or is malformed (the message names the line)
     */
    public static double[] read(Path file, int expectedCount) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("curriculum scores file " + file + " does not exist or is not a file");
        }
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        while (!lines.isEmpty() && lines.getLast().isBlank()) {
            lines.removeLast();
        }
        if (lines.isEmpty()) {
            throw new IOException("curriculum scores file " + file + " is empty; expected " + expectedCount
                + " scores, one per training sample");
        }
        if (!lines.isEmpty() && !lines.getFirst().isEmpty() && lines.getFirst().charAt(0) == '\uFEFF') {
            lines.set(0, lines.getFirst().substring(1)); // a byte-order mark
        }
        boolean csv = lines.getFirst().contains(",");
        return csv ? readCsv(file, lines, expectedCount) : readPlain(file, lines, expectedCount);
    }

    private static double[] readPlain(Path file, List<String> lines, int expectedCount) throws IOException {
        double[] scores = new double[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            scores[i] = score(file, i + 1, lines.get(i).strip());
        }
        if (lines.size() != expectedCount) {
            throw new IOException("curriculum scores file " + file + " holds " + lines.size() + " scores, expected " + expectedCount
                + " (one per training sample, line i scoring sample i-1)");
        }
        return scores;
    }

    private static double[] readCsv(Path file, List<String> lines, int expectedCount) throws IOException {
        double[] scores = new double[expectedCount];
        int[] seenOn = new int[expectedCount];
        int first = 0;
        String[] head = lines.getFirst().split(",", -1);
        if (head.length == 2 && !isNumber(head[0].strip())) {
            first = 1; // a header line
        }
        int rows = 0;
        for (int i = first; i < lines.size(); i++) {
            int lineNo = i + 1;
            String[] cells = lines.get(i).split(",", -1);
            if (cells.length != 2) {
                throw new IOException("curriculum scores file " + file + " line " + lineNo + ": '" + lines.get(i).strip()
                    + "' has " + cells.length + " columns, expected 2 (index,score)");
            }
            String indexText = cells[0].strip();
            int index;
            try {
                index = Integer.parseInt(indexText);
            } catch (NumberFormatException e) {
                throw new IOException("curriculum scores file " + file + " line " + lineNo + ": index '" + indexText
                    + "' is not a whole number");
            }
            if (index < 0 || index >= expectedCount) {
                throw new IOException("curriculum scores file " + file + " line " + lineNo + ": index " + index
                    + " is outside 0.." + (expectedCount - 1) + " (the training set holds " + expectedCount + " samples)");
            }
            if (seenOn[index] != 0) {
                throw new IOException("curriculum scores file " + file + " line " + lineNo + ": index " + index
                    + " was already scored on line " + seenOn[index]);
            }
            seenOn[index] = lineNo;
            scores[index] = score(file, lineNo, cells[1].strip());
            rows++;
        }
        if (rows != expectedCount) {
            int missing = 0;
            while (missing < expectedCount && seenOn[missing] != 0) {
                missing++;
            }
            throw new IOException("curriculum scores file " + file + " scores " + rows + " samples, expected " + expectedCount
                + " (one per training sample); the first index missing is " + missing);
        }
        return scores;
    }

    private static double score(Path file, int lineNo, String text) throws IOException {
        if (text.isEmpty()) {
            throw new IOException("curriculum scores file " + file + " line " + lineNo + " is blank, expected a score");
        }
        double v;
        try {
            v = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IOException("curriculum scores file " + file + " line " + lineNo + ": '" + text + "' is not a number");
        }
        if (!Double.isFinite(v)) {
            throw new IOException("curriculum scores file " + file + " line " + lineNo + ": score " + text
                + " is not a finite number");
        }
        return v;
    }

    private static boolean isNumber(String text) {
        try {
            Double.parseDouble(text);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Writes scores one per line, in a form {@link #read} gives back exactly: what a run keeps of
     * the scores its warm-up computed, so that a resumed run uses the same ones. Written to a
     * temporary file first and moved into place, so a crash leaves no partial file.
     *
     * @param file the file to write
     * @param scores the scores, indexed by sample
     * @throws IOException when writing fails
     */
    public static void write(Path file, double[] scores) throws IOException {
        StringBuilder text = new StringBuilder(scores.length * 20);
        for (double s : scores) {
            text.append(Double.toString(s)).append('\n');
        }
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
