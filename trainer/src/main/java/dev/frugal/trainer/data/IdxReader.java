package dev.frugal.trainer.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or raw, into off-heap memory.
 *
 * <p>Format: two zero bytes, a type byte, a dimension-count byte, then one big-endian 32-bit
 * size per dimension, then the elements row-major. This reader accepts the one-byte element
 * types (0x08 unsigned, 0x09 signed), which is what every MNIST-family file uses; the wider
 * types (0x0B short, 0x0C int, 0x0D float, 0x0E double) are recognised and rejected by name.
 *
 * <p>Every check failure is an {@link IdxFormatException} naming the file, the byte offset and
 * what was expected. For a gzipped file the offset counts decompressed bytes, because that is
 * where the IDX structure lives; the message says so.
 */
public final class IdxReader {
    /** Gzip streams start with these two bytes; sniffing them beats trusting the file name. */
    private static final int GZIP_MAGIC_0 = 0x1f;
    private static final int GZIP_MAGIC_1 = 0x8b;
    private static final int MAX_RANK = 8;
    private static final int CHUNK = 1 << 16;

    private IdxReader() {
    }

    /**
     * Reads any one-byte-element IDX file.
     *
     * @param file the file, gzipped or raw
     * @return the decoded file; the caller closes it
     * @throws IdxFormatException when the file is truncated, corrupt or has trailing bytes
     * @throws IOException        when the file cannot be opened
     */
    public static IdxFile read(Path file) throws IOException {
        return read(file, -1, -1);
    }

    /**
     * Reads an IDX file and checks its type byte and rank, e.g. {@code (0x08, 1)} for a label
     * file and {@code (0x08, 3)} for an image file.
     *
     * @param file         the file, gzipped or raw
     * @param expectedType the required type byte, or -1 for any supported one
     * @param expectedRank the required number of dimensions, or -1 for any
     * @return the decoded file; the caller closes it
     * @throws IdxFormatException when the file is not of that kind, truncated, corrupt or has
     *                            trailing bytes
     * @throws IOException        when the file cannot be opened
     */
    public static IdxFile read(Path file, int expectedType, int expectedRank) throws IOException {
        boolean gzip = isGzip(file);
        String where = gzip ? " (decompressed)" : "";
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = gzip ? new GZIPInputStream(raw, CHUNK) : new BufferedInputStream(raw, CHUNK)) {
            CountingReader r = new CountingReader(file, in, where);
            int zero0 = r.readByte("the first magic byte 0x00");
            int zero1 = r.readByte("the second magic byte 0x00");
            if (zero0 != 0 || zero1 != 0) {
                throw new IdxFormatException(file, 0, "bad magic number 0x" + hex(zero0) + hex(zero1)
                        + where + ": an IDX file starts with 0x0000 (is this an IDX file?)", null);
            }
            int type = r.readByte("the type byte");
            checkType(file, type, expectedType, where);
            int rank = r.readByte("the dimension count");
            if (rank < 1 || rank > MAX_RANK) {
                throw new IdxFormatException(file, 3, "dimension count " + rank + where
                        + " is outside 1.." + MAX_RANK, null);
            }
            if (expectedRank >= 0 && rank != expectedRank) {
                throw new IdxFormatException(file, 3, "dimension count " + rank + where + ", expected "
                        + expectedRank + " (magic 0x00000" + Integer.toHexString(type << 8 | expectedRank) + ")", null);
            }
            int[] dims = new int[rank];
            long count = 1;
            for (int i = 0; i < rank; i++) {
                long at = r.offset();
                int d = r.readInt("size of dimension " + i);
                if (d < 0) {
                    throw new IdxFormatException(file, at, "size of dimension " + i + " is " + d + where
                            + ", expected a non-negative size", null);
                }
                dims[i] = d;
                try {
                    count = Math.multiplyExact(count, d);
                } catch (ArithmeticException overflow) {
                    throw new IdxFormatException(file, at, "dimensions overflow a 64-bit element count at dimension "
                            + i + where + " (corrupt header?)", overflow);
                }
            }
            long dataStart = r.offset();
            if (!gzip && dataStart + count > Files.size(file)) {
                // Check before allocating, so a garbage header cannot ask for terabytes.
                long have = Files.size(file) - dataStart;
                throw new IdxFormatException(file, Files.size(file), "file ends after " + have + " of " + count
                        + " data bytes; expected " + count + " bytes for dimensions " + java.util.Arrays.toString(dims)
                        + " starting at byte " + dataStart + " (truncated download?)", null);
            }
            Arena arena = Arena.ofShared();
            MemorySegment block;
            try {
                block = arena.allocate(Math.max(1, count), 64);
            } catch (OutOfMemoryError e) {
                // A gzipped header cannot be checked against the file size; a corrupt one shows up here.
                arena.close();
                throw new IdxFormatException(file, dataStart, "dimensions " + java.util.Arrays.toString(dims) + where
                        + " need " + count + " bytes, which cannot be allocated (corrupt header?)", e);
            }
            try {
                MemorySegment data = block.asSlice(0, count);
                r.readInto(data, count, dims);
                r.expectEnd();
                return new IdxFile(file, type, dims, arena, data);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            // Only the GZIPInputStream constructor gets here: reads inside report their own offset.
            throw new IdxFormatException(file, 0, "corrupt gzip header (" + e.getMessage()
                    + "); expected a gzip stream holding an IDX file", e);
        }
    }

    private static void checkType(Path file, int type, int expectedType, String where) throws IdxFormatException {
        String name = switch (type) {
            case IdxFile.TYPE_U8 -> "unsigned byte";
            case IdxFile.TYPE_I8 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> null;
        };
        if (name == null) {
            throw new IdxFormatException(file, 2, "unknown type byte 0x" + hex(type) + where
                    + ", expected one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E", null);
        }
        if (expectedType >= 0 && type != expectedType) {
            throw new IdxFormatException(file, 2, "type byte 0x" + hex(type) + " (" + name + ")" + where
                    + ", expected 0x" + hex(expectedType), null);
        }
        if (type != IdxFile.TYPE_U8 && type != IdxFile.TYPE_I8) {
            throw new IdxFormatException(file, 2, "type byte 0x" + hex(type) + " (" + name + ") is not supported"
                    + where + "; this reader takes one-byte elements (0x08, 0x09)", null);
        }
    }

    private static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == GZIP_MAGIC_0 && in.read() == GZIP_MAGIC_1;
        }
    }

    private static String hex(int b) {
        return String.format("%02x", b);
    }

    /** Reads with a running offset so that every failure can say where it happened. */
    private static final class CountingReader {
        private final Path file;
        private final InputStream in;
        private final String where;
        private long offset;

        CountingReader(Path file, InputStream in, String where) {
            this.file = file;
            this.in = in;
            this.where = where;
        }

        long offset() {
            return offset;
        }

        int readByte(String expected) throws IOException {
            int b = read(expected);
            offset++;
            return b;
        }

        int readInt(String expected) throws IOException {
            long start = offset;
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int b = read(expected + " (4-byte big-endian integer starting at byte " + start + ")");
                offset++;
                v = v << 8 | b;
            }
            return v;
        }

        private int read(String expected) throws IOException {
            int b;
            try {
                b = in.read();
            } catch (java.io.EOFException | java.util.zip.ZipException e) {
                throw corrupt(expected, e);
            }
            if (b < 0) {
                throw new IdxFormatException(file, offset, "file ends" + where + "; expected " + expected, null);
            }
            return b;
        }

        void readInto(MemorySegment data, long count, int[] dims) throws IOException {
            byte[] buf = new byte[CHUNK];
            long done = 0;
            long dataStart = offset;
            while (done < count) {
                int want = (int) Math.min(buf.length, count - done);
                int n;
                try {
                    n = in.read(buf, 0, want);
                } catch (java.io.EOFException | java.util.zip.ZipException e) {
                    throw corrupt(count + " data bytes from offset " + dataStart, e);
                }
                if (n < 0) {
                    throw new IdxFormatException(file, offset, "file ends" + where + " after " + done + " of "
                            + count + " data bytes; expected " + count + " bytes for dimensions "
                            + java.util.Arrays.toString(dims) + " starting at byte " + dataStart
                            + " (truncated download?)", null);
                }
                MemorySegment.copy(buf, 0, data, ValueLayout.JAVA_BYTE, done, n);
                done += n;
                offset += n;
            }
        }

        void expectEnd() throws IOException {
            int b;
            try {
                b = in.read();
            } catch (java.io.EOFException | java.util.zip.ZipException e) {
                throw corrupt("the end of the file", e);
            }
            if (b >= 0) {
                throw new IdxFormatException(file, offset, "unexpected trailing bytes" + where
                        + "; expected the file to end after the data the header describes", null);
            }
        }

        private IdxFormatException corrupt(String expected, IOException e) {
            return new IdxFormatException(file, offset, "corrupt or truncated gzip stream" + where + " ("
                    + e.getMessage() + "); expected " + expected, e);
        }
    }
}
