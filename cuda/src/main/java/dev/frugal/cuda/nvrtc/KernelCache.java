package dev.frugal.cuda.nvrtc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CUBINs on disk, so a kernel is compiled once per machine rather than once per run. The key is
 * a SHA-256 over everything that changes the output: source, in-memory headers, architecture,
 * NVRTC version and options.
 *
 * <p>Safe under concurrent processes without locks: an entry is written to a temporary file in
 * the same folder, forced to disk, then renamed over the final name with {@code ATOMIC_MOVE}, so
 * a reader sees either no entry or a complete one; two writers of the same key write the same
 * bytes, and the last rename wins. Each entry starts with a header (magic, format version, the
 * key, the payload length and its SHA-256), so a truncated, corrupted or misplaced file is
 * detected, deleted and recompiled, never loaded onto a GPU. A cache that cannot be written
 * (read-only folder, full disk) only costs recompilation.
 */
public final class KernelCache {
  private static final byte[] MAGIC = "FRUGALK1".getBytes(StandardCharsets.US_ASCII);
  private static final int FORMAT_VERSION = 1;
  private static final int DIGEST_BYTES = 32;
  private static final String SUFFIX = ".cubin";

  private final Path directory;
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private final AtomicLong corruptEntries = new AtomicLong();
  private final AtomicLong writeFailures = new AtomicLong();

  /** A cache in {@code directory}, created on the first write. */
  public KernelCache(Path directory) {
    this.directory = directory.toAbsolutePath().normalize();
  }

  /** The cache at {@code FRUGAL_KERNEL_CACHE}, else {@code ~/.cache/frugal/kernels}. */
  public static KernelCache defaultCache() {
    return at(System.getenv(), Path.of(System.getProperty("user.home", ".")));
  }

  /** The cache the given environment and home folder select (see {@link #defaultCache()}). */
  public static KernelCache at(Map<String, String> environment, Path home) {
    String override = environment.get("FRUGAL_KERNEL_CACHE");
    if (override != null && !override.isBlank()) {
      return new KernelCache(Path.of(override.trim()));
    }
    return new KernelCache(home.resolve(".cache").resolve("frugal").resolve("kernels"));
  }

  /** The folder holding the entries. */
  public Path directory() {
    return directory;
  }

  /**
   * The cache key for one compilation.
   *
   * @param headers in-memory headers given to NVRTC (their names and contents both count)
   */
  public static String key(String source, Map<String, String> headers, String arch, String nvrtcVersion,
      List<String> options) {
    MessageDigest digest = sha256();
    List<String> parts = new ArrayList<>();
    parts.add("frugal-kernel-cache-key-v1");
    parts.add(source);
    for (Map.Entry<String, String> header : new TreeMap<>(headers).entrySet()) {
      parts.add("header:" + header.getKey());
      parts.add(header.getValue());
    }
    parts.add("arch:" + arch);
    parts.add("nvrtc:" + nvrtcVersion);
    for (String option : options) {
      parts.add("option:" + option);
    }
    for (String part : parts) {
      byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
      // Length-prefix every part so that ("ab", "c") and ("a", "bc") hash differently.
      digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(bytes.length).array());
      digest.update(bytes);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Where the entry for {@code key} lives. */
  public Path entryPath(String key) {
    requireValidKey(key);
    return directory.resolve(key + SUFFIX);
  }

  /**
   * The CUBIN stored under {@code key}, if present and intact. A damaged entry is deleted and
   * reported as absent.
   */
  public Optional<byte[]> get(String key) {
    Path file = entryPath(key);
    byte[] content;
    try {
      content = Files.readAllBytes(file);
    } catch (IOException | SecurityException e) {
      misses.incrementAndGet();
      return Optional.empty();
    }
    Optional<byte[]> payload = decode(key, content);
    if (payload.isEmpty()) {
      corruptEntries.incrementAndGet();
      misses.incrementAndGet();
      try {
        Files.deleteIfExists(file);
      } catch (IOException | SecurityException e) {
        // The next successful put replaces it anyway.
      }
      return Optional.empty();
    }
    hits.incrementAndGet();
    return payload;
  }

  /**
   * Stores {@code cubin} under {@code key} atomically.
   *
   * @return false if the cache could not be written (the caller just recompiles next time)
   */
  public boolean put(String key, byte[] cubin) {
    Path target = entryPath(key);
    Path temporary = null;
    try {
      Files.createDirectories(directory);
      temporary = directory.resolve(key + ".tmp-" + ProcessHandle.current().pid() + "-"
          + Long.toHexString(ThreadLocalRandom.current().nextLong()));
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(encode(key, cubin));
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        // Durable before visible: a crash must not leave a renamed but empty file.
        channel.force(true);
      }
      try {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
      return true;
    } catch (IOException | SecurityException e) {
      writeFailures.incrementAndGet();
      if (temporary != null) {
        try {
          Files.deleteIfExists(temporary);
        } catch (IOException | SecurityException ignored) {
          // Leftover temporary files are harmless: they never have the entry suffix.
        }
      }
      return false;
    }
  }

  /** Counters since this object was made. */
  public Statistics statistics() {
    return new Statistics(hits.get(), misses.get(), corruptEntries.get(), writeFailures.get());
  }

  /**
   * Cache counters.
   *
   * @param hits lookups answered from disk
   * @param misses lookups that found nothing usable
   * @param corruptEntries entries found damaged and deleted
   * @param writeFailures entries that could not be written
   */
  public record Statistics(long hits, long misses, long corruptEntries, long writeFailures) {}

  static byte[] encode(String key, byte[] payload) {
    byte[] keyBytes = key.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer buffer = ByteBuffer.allocate(headerSize(keyBytes.length) + payload.length);
    buffer.put(MAGIC).putInt(FORMAT_VERSION).putInt(keyBytes.length).put(keyBytes)
        .putLong(payload.length).put(sha256().digest(payload)).put(payload);
    return buffer.array();
  }

  static Optional<byte[]> decode(String key, byte[] content) {
    byte[] keyBytes = key.getBytes(StandardCharsets.US_ASCII);
    int header = headerSize(keyBytes.length);
    if (content.length < header) {
      return Optional.empty();
    }
    ByteBuffer buffer = ByteBuffer.wrap(content);
    byte[] magic = new byte[MAGIC.length];
    buffer.get(magic);
    if (!MessageDigest.isEqual(magic, MAGIC) || buffer.getInt() != FORMAT_VERSION
        || buffer.getInt() != keyBytes.length) {
      return Optional.empty();
    }
    byte[] storedKey = new byte[keyBytes.length];
    buffer.get(storedKey);
    long length = buffer.getLong();
    if (!MessageDigest.isEqual(storedKey, keyBytes) || length != content.length - header) {
      return Optional.empty();
    }
    byte[] storedDigest = new byte[DIGEST_BYTES];
    buffer.get(storedDigest);
    byte[] payload = new byte[(int) length];
    buffer.get(payload);
    if (!MessageDigest.isEqual(storedDigest, sha256().digest(payload))) {
      return Optional.empty();
    }
    return Optional.of(payload);
  }

  private static int headerSize(int keyLength) {
    return MAGIC.length + Integer.BYTES + Integer.BYTES + keyLength + Long.BYTES + DIGEST_BYTES;
  }

  private static void requireValidKey(String key) {
    if (!key.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("kernel cache keys are 64 lowercase hex digits (from KernelCache.key), got '"
          + key + "'");
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }
}
