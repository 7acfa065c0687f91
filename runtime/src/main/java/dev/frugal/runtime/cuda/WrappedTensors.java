package dev.frugal.runtime.cuda;

import dev.frugal.memory.Allocation;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.runtime.Tensor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The device copies of the host tensors a {@link CudaBackend}'s programs bind (parameters and
 * optimizer state). A tensor is known by its host memory (address and length), so every program
 * binding the same tensor, or another view of the same memory, shares one device copy: the
 * training step's updates are what evaluation reads. A copy whose tensor was closed is dropped
 * when its memory is wrapped again.
 */
final class WrappedTensors implements AutoCloseable {
    private final DeviceApi device;
    private final Map<Key, Entry> copies = new LinkedHashMap<>();

    /** Host memory of a wrapped tensor: its first byte's address and its length. */
    private record Key(long hostAddress, long bytes) {
    }

    /** One device copy and the tensor it mirrors. */
    private record Entry(Tensor tensor, Allocation allocation, CudaBuffer buffer) {
    }

    WrappedTensors(DeviceApi device) {
        this.device = device;
    }

    /** The device copy of {@code tensor} (contiguous), made and filled from the host on first use. */
    CudaBuffer deviceCopy(Tensor tensor) {
        if (!tensor.isContiguous()) {
            throw new IllegalArgumentException("wrap: tensor " + tensor.dtype() + tensor.shape() + " must be contiguous");
        }
        Key key = keyOf(tensor);
        long bytes = key.bytes();
        Entry e = copies.get(key);
        if (e != null && !e.tensor().isClosed()) {
            return e.buffer();
        }
        if (e != null) {
            release(e);
            copies.remove(key);
        }
        long size = Math.max(1, bytes);
        Allocation a = device.memory().allocate(size, device.computeStream(), "bound tensors");
        Entry made = new Entry(tensor, a, new CudaBuffer(a.address(), size, null));
        try {
            upload(made);
        } catch (RuntimeException | Error ex) {
            a.close();
            throw ex;
        }
        copies.put(key, made);
        return made.buffer();
    }

    /** Copies every device copy back into its open host tensor. */
    void copyToHost() {
        for (Entry e : live()) {
            long bytes = e.tensor().numel() * e.tensor().dtype().byteSize();
            if (bytes > 0) {
                var host = e.tensor().segment().asSlice(e.tensor().offset() * e.tensor().dtype().byteSize(), bytes);
                device.download(e.buffer().address(), host, bytes);
            }
        }
    }

    /** Copies the device copies of {@code tensors} (those that have one) back into their host memory. */
    void copyToHost(Collection<Tensor> tensors) {
        for (Tensor t : tensors) {
            if (t.isClosed() || !t.isContiguous()) {
                continue;
            }
            Key key = keyOf(t);
            Entry e = copies.get(key);
            if (e != null && !e.tensor().isClosed() && key.bytes() > 0) {
                device.download(e.buffer().address(), t.segment().asSlice(t.offset() * t.dtype().byteSize(), key.bytes()), key.bytes());
            }
        }
    }

    private static Key keyOf(Tensor tensor) {
        return new Key(tensor.segment().address() + tensor.offset() * tensor.dtype().byteSize(), tensor.numel() * tensor.dtype().byteSize());
    }

    /** Re-uploads every open host tensor into its device copy. */
    void copyFromHost() {
        for (Entry e : live()) {
            upload(e);
        }
    }

    /** The entries whose tensors are open; closed tensors' copies are freed. */
    private List<Entry> live() {
        List<Entry> open = new ArrayList<>();
        for (Iterator<Entry> it = copies.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.tensor().isClosed()) {
                release(e);
                it.remove();
            } else {
                open.add(e);
            }
        }
        return open;
    }

    private void upload(Entry e) {
        Tensor t = e.tensor();
        long bytes = t.numel() * t.dtype().byteSize();
        if (bytes == 0) {
            return;
        }
        StagingBuffer staging = device.staging().acquire(bytes);
        try {
            java.lang.foreign.MemorySegment.copy(t.segment(), t.offset() * t.dtype().byteSize(), staging.segment(), 0, bytes);
        } catch (RuntimeException | Error ex) {
            staging.release();
            throw ex;
        }
        device.upload(staging, e.buffer().address(), bytes);
    }

    private static void release(Entry e) {
        if (e.allocation().isLive()) {
            e.allocation().close();
        }
    }

    /** Frees every device copy (after the device finished the work queued on them). */
    @Override
    public void close() {
        for (Entry e : copies.values()) {
            release(e);
        }
        copies.clear();
    }
}
