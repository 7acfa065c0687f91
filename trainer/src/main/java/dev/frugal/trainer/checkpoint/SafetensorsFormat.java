package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.DType;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Constants of the safetensors file format shared by {@link SafetensorsWriter} and
 * {@link SafetensorsReader}: the dtype names, the header limits and the byte order.
 *
 * <p>A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON (padded with spaces
 * to a multiple of 8 so the data that follows is 8-byte aligned), then the byte buffer holding
 * every tensor row-major and little-endian at the {@code data_offsets} its header entry gives,
 * relative to the buffer's start. See https://github.com/huggingface/safetensors.
 */
public final class SafetensorsFormat {
    /**
     * Largest header accepted, in bytes: the reference implementation's limit, so a corrupt length
     * cannot make the reader allocate gigabytes before the JSON is even looked at.
     */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Smallest possible header: {@code {}}. */
    public static final long MIN_HEADER_BYTES = 2;

    /** The reserved header key whose value is a string-to-string map, not a tensor. */
    public static final String METADATA_KEY = "__metadata__";

    private SafetensorsFormat() {
    }

    /**
     * The safetensors name of a dtype.
     *
     * @param dtype a Frugal dtype
     * @return its name in a header, e.g. {@code F32}, {@code BF16}, {@code BOOL}
     */
    public static String dtypeName(DType dtype) {
        // DType's enum names were chosen to be exactly the safetensors names.
        return dtype.name();
    }

    /**
     * The dtype a safetensors name stands for.
     *
     * @param name a header's dtype name, e.g. {@code F32}
     * @return the dtype, or {@code null} when Frugal has no such type (the format also knows I8,
     *     I16, U16, U32, U64 and the F8 types, which Frugal cannot hold)
     */
    public static DType dtypeOf(String name) {
        for (DType t : DType.values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The dtype names this implementation reads and writes, for error messages. */
    public static String knownDtypeNames() {
        StringBuilder sb = new StringBuilder();
        for (DType t : DType.values()) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(t.name());
        }
        return sb.toString();
    }

    /** The element layout of {@code dtype} as stored in a file: little-endian, unaligned. */
    static ValueLayout fileLayout(DType dtype) {
        return dtype.storageLayout().withOrder(ByteOrder.LITTLE_ENDIAN);
    }
}
