package dev.frugal.models;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Random streams keyed by a seed and a name, so that every variable (and every dropout layer)
 * draws from its own stream: adding, removing or reordering a module never shifts the values of
 * the others, and the same seed and name give the same stream on every machine.
 */
public final class SeedStreams {
    private SeedStreams() {
    }

    /**
     * A 64-bit key for ({@code seed}, {@code name}): FNV-1a over the name's UTF-8 bytes, combined
     * with the seed and passed through SplitMix64's finaliser so that nearby seeds and similar
     * names give unrelated keys.
     *
     * @param seed the model (or run) seed
     * @param name the variable's or module's full name
     * @return the key, usable as a seed of its own
     */
    public static long derive(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(mix(seed) ^ h);
    }

    /** A fresh random stream for ({@code seed}, {@code name}). */
    public static SplittableRandom stream(long seed, String name) {
        return new SplittableRandom(derive(seed, name));
    }

    private static long mix(long z) {
        z += 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
