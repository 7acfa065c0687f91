package dev.frugal.trainer.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A decoded, in-memory image classification dataset: {@code count} single-channel images of
 * {@code height x width} unsigned bytes, and one label per image in {@code 0..classes-1}, all
 * off-heap. It is decoded once ({@link #fromIdx}) and then only read, so the loader can serve
 * every epoch from it without touching the files again.
 */
public final class ImageDataset implements AutoCloseable {
    private final String name;
    private final int count;
    private final int height;
    private final int width;
    private final int classes;
    private final MemorySegment pixels;
    private final MemorySegment labels;
    private final AutoCloseable owner;

    private ImageDataset(String name, int count, int height, int width, int classes,
                         MemorySegment pixels, MemorySegment labels, AutoCloseable owner) {
        this.name = name;
        this.count = count;
        this.height = height;
        this.width = width;
        this.classes = classes;
        this.pixels = pixels;
        this.labels = labels;
        this.owner = owner;
    }

    /**
     * Decodes an image IDX file (type 0x08, rank 3) and its label IDX file (type 0x08, rank 1)
     * and checks that they agree: the same count, every label below {@code classes}.
     *
     * @param images  image file, gzipped or raw
     * @param labels  label file, gzipped or raw
     * @param classes number of classes (10 for MNIST and Fashion-MNIST)
     * @return the dataset; the caller closes it
     * @throws IOException when a file is unreadable, malformed, or the two disagree
     */
    public static ImageDataset fromIdx(Path images, Path labels, int classes) throws IOException {
        IdxFile img = IdxReader.read(images, IdxFile.TYPE_U8, 3);
        IdxFile lab = null;
        try {
            lab = IdxReader.read(labels, IdxFile.TYPE_U8, 1);
            if (img.dim(0) != lab.dim(0)) {
                throw new IOException(images + " holds " + img.dim(0) + " images but " + labels + " holds "
                        + lab.dim(0) + " labels; expected the same count (mismatched files?)");
            }
            MemorySegment l = lab.data();
            for (long i = 0; i < l.byteSize(); i++) {
                int v = Byte.toUnsignedInt(l.get(ValueLayout.JAVA_BYTE, i));
                if (v >= classes) {
                    // Label file: 8 header bytes, then one byte per label.
                    throw new IdxFormatException(labels, 8 + i, "label " + v + " of sample " + i
                            + ", expected a class in 0.." + (classes - 1), null);
                }
            }
            IdxFile labFinal = lab;
            AutoCloseable both = () -> {
                try (img; labFinal) {
                    // try-with-resources closes both, even if one throws
                }
            };
            return new ImageDataset(images.getFileName().toString(), img.dim(0), img.dim(1), img.dim(2), classes,
                    img.data(), lab.data(), both);
        } catch (IOException | RuntimeException e) {
            img.close();
            if (lab != null) {
                lab.close();
            }
            throw e;
        }
    }

    /**
     * A dataset over copies of heap arrays; for tests and small synthetic data.
     *
     * @param pixels  {@code count * height * width} pixel bytes (unsigned), row-major
     * @param labels  {@code count} labels, each in {@code 0..classes-1}
     * @param height  image height
     * @param width   image width
     * @param classes number of classes
     * @return the dataset; the caller closes it
     */
    public static ImageDataset of(byte[] pixels, byte[] labels, int height, int width, int classes) {
        int count = labels.length;
        if ((long) count * height * width != pixels.length) {
            throw new IllegalArgumentException(pixels.length + " pixel bytes do not make " + count + " images of "
                    + height + "x" + width);
        }
        for (int i = 0; i < count; i++) {
            if (Byte.toUnsignedInt(labels[i]) >= classes) {
                throw new IllegalArgumentException("label " + Byte.toUnsignedInt(labels[i]) + " of sample " + i
                        + " is not a class in 0.." + (classes - 1));
            }
        }
        Arena arena = Arena.ofShared();
        MemorySegment p = arena.allocate(Math.max(1, pixels.length), 64).asSlice(0, pixels.length);
        MemorySegment l = arena.allocate(Math.max(1, count)).asSlice(0, count);
        MemorySegment.copy(pixels, 0, p, ValueLayout.JAVA_BYTE, 0, pixels.length);
        MemorySegment.copy(labels, 0, l, ValueLayout.JAVA_BYTE, 0, count);
        return new ImageDataset("in-memory", count, height, width, classes, p, l, arena::close);
    }

    /** A short name for messages (the image file name, or "in-memory"). */
    public String name() {
        return name;
    }

    /** Number of samples. */
    public int count() {
        return count;
    }

    /** Image height in pixels. */
    public int height() {
        return height;
    }

    /** Image width in pixels. */
    public int width() {
        return width;
    }

    /** Number of classes. */
    public int classes() {
        return classes;
    }

    /** All pixels, {@code count * height * width} unsigned bytes, row-major; valid until close. */
    public MemorySegment pixels() {
        return pixels;
    }

    /** All labels, {@code count} unsigned bytes; valid until close. */
    public MemorySegment labels() {
        return labels;
    }

    /** The label of sample {@code index}. */
    public int label(int index) {
        return Byte.toUnsignedInt(labels.get(ValueLayout.JAVA_BYTE, index));
    }

    /** Frees the off-heap data. */
    @Override
    public void close() {
        try {
            owner.close();
        } catch (Exception e) {
            // Closing an arena throws only unchecked exceptions; rethrow them unchanged.
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }
}
