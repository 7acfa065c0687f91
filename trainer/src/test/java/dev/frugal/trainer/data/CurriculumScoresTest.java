package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading curriculum score files: both formats, and a clear error naming the line for every defect. */
class CurriculumScoresTest {
    @TempDir
    Path dir;

    private Path file(String text) throws IOException {
        Path f = dir.resolve("scores-" + System.nanoTime() + ".txt");
        Files.writeString(f, text);
        return f;
    }

    private void assertFails(String text, int count, String part) throws IOException {
        Path f = file(text);
        IOException e = assertThrows(IOException.class, () -> CurriculumScores.read(f, count), text);
        assertTrue(e.getMessage().contains(part), () -> text.replace("\n", "\\n") + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
    }

    @Test
    void readsOneNumberPerLine() throws IOException {
        assertArrayEquals(new double[] {0.5, -1, 3e-3, 2}, CurriculumScores.read(file("0.5\n-1\n 3e-3 \n2\n\n\n"), 4));
        assertArrayEquals(new double[] {7}, CurriculumScores.read(file("7"), 1));
    }

    @Test
    void readsIndexAndScoreCsvInAnyOrderWithAnOptionalHeader() throws IOException {
        assertArrayEquals(new double[] {0.1, 0.2, 0.3}, CurriculumScores.read(file("index,score\n2,0.3\n0,0.1\n1,0.2\n"), 3));
        assertArrayEquals(new double[] {0.1, 0.2}, CurriculumScores.read(file("0, 0.1\r\n1 ,0.2\r\n"), 2));
    }

    @Test
    void wrongCountsNameWhatWasExpected() throws IOException {
        assertFails("1\n2\n3\n", 4, "holds 3 scores, expected 4");
        assertFails("1\n2\n3\n", 2, "holds 3 scores, expected 2");
        assertFails("0,1\n2,3\n", 3, "scores 2 samples, expected 3 (one per training sample); the first index missing is 1");
        assertFails("\n\n", 3, "is empty");
    }

    @Test
    void badNumbersNameTheLine() throws IOException {
        assertFails("1\nNaN\n3\n", 3, "line 2: score NaN is not a finite number");
        assertFails("1\n2\nInfinity\n", 3, "line 3: score Infinity is not a finite number");
        assertFails("1\nabc\n3\n", 3, "line 2: 'abc' is not a number");
        assertFails("1\n\n3\n", 3, "line 2 is blank");
        assertFails("index,score\n0,1\n1,x\n", 2, "line 3: 'x' is not a number");
        assertFails("0,1\n1,NaN\n", 2, "line 2: score NaN is not a finite number");
        assertFails("0,1\n1,2,3\n", 2, "line 2: '1,2,3' has 3 columns, expected 2");
        assertFails("0,1\none,2\n", 2, "line 2: index 'one' is not a whole number");
        assertFails("0,1\n5,2\n", 2, "line 2: index 5 is outside 0..1");
        assertFails("0,1\n0,2\n", 2, "line 2: index 0 was already scored on line 1");
    }

    @Test
    void aMissingFileIsNamed() {
        IOException e = assertThrows(IOException.class, () -> CurriculumScores.read(dir.resolve("nope.txt"), 3));
        assertTrue(e.getMessage().contains("nope.txt does not exist"), e.getMessage());
    }

    @Test
    void writtenScoresReadBackExactly() throws IOException {
        double[] scores = {0.1 + 0.2, Math.PI, -1e-300, 12345.678, 0};
        Path f = dir.resolve("kept.txt");
        CurriculumScores.write(f, scores);
        assertArrayEquals(scores, CurriculumScores.read(f, scores.length));
        CurriculumScores.write(f, new double[] {1, 2, 3, 4, 5});
        assertArrayEquals(new double[] {1, 2, 3, 4, 5}, CurriculumScores.read(f, 5), "replaces the file");
    }
}
