package dev.frugal.memory;

import java.util.ArrayList;
import java.util.List;

/** A stream whose events complete only when the test says so, standing in for a busy GPU stream. */
final class ManualStream implements MemoryStream {

    /** An event of a {@link ManualStream}; counts releases so tests can check the allocator gives it back. */
    static final class ManualEvent implements StreamEvent {
        boolean complete;
        int releases;
        int synchronizations;

        @Override
        public boolean isComplete() {
            return complete;
        }

        @Override
        public void synchronize() {
            synchronizations++;
            complete = true;
        }

        @Override
        public void release() {
            releases++;
        }
    }

    private final long id;
    final List<ManualEvent> recorded = new ArrayList<>();

    ManualStream(long id) {
        this.id = id;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public StreamEvent recordEvent() {
        ManualEvent event = new ManualEvent();
        recorded.add(event);
        return event;
    }

    /** Completes every event recorded so far, as if the stream's queued work had finished. */
    void completeAll() {
        recorded.forEach(e -> e.complete = true);
    }

    @Override
    public String toString() {
        return "manual stream " + id;
    }
}
