package dev.frugal.memory;

import static dev.frugal.memory.BlockSizes.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class BlockSizesTest {

    private static final long MiB = 1L << 20;

    @Test
    void requestsRoundUpToMultiplesOf512WithAMinimumOfOneBlock() {
        assertEquals(512, roundRequest(0));
        assertEquals(512, roundRequest(1));
        assertEquals(512, roundRequest(512));
        assertEquals(1024, roundRequest(513));
        assertEquals(3 * 512, roundRequest(1025));
        assertEquals(MiB, roundRequest(MiB));
    }

    @Test
    void upToOneMebibyteIsSmallBeyondIsLarge() {
        assertTrue(isSmall(512));
        assertTrue(isSmall(MiB));
        assertFalse(isSmall(MiB + 512));
    }

    @Test
    void segmentSizesFollowPyTorch() {
        assertEquals(2 * MiB, segmentSize(512));
        assertEquals(2 * MiB, segmentSize(MiB));
        assertEquals(20 * MiB, segmentSize(MiB + 512));
        assertEquals(20 * MiB, segmentSize(10 * MiB - 512));
        assertEquals(10 * MiB, segmentSize(10 * MiB));
        assertEquals(12 * MiB, segmentSize(10 * MiB + 512));
        assertEquals(22 * MiB, segmentSize(21 * MiB));
    }

    @Test
    void smallPoolKeepsAnyWholeBlockRemainderLargePoolOnlyLargeRemainders() {
        assertTrue(shouldSplit(2 * MiB, 2 * MiB - 512, true));
        assertFalse(shouldSplit(1024, 1024, true));
        assertFalse(shouldSplit(20 * MiB, 19 * MiB, false), "a 1 MiB remainder is small: not kept in the large pool");
        assertTrue(shouldSplit(20 * MiB, 19 * MiB - 512, false));
    }

    @Test
    void largestRequestRoundsWithoutOverflow() {
        assertTrue(roundRequest(MAX_REQUEST) > 0);
        assertTrue(segmentSize(roundRequest(MAX_REQUEST)) > 0);
    }
}
