package org.splitlora.train;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/**
 * glibc's own count of the bytes malloc has handed out and not had back ({@code mallinfo2}, glibc
 * 2.33+). Unlike RSS it does not see memory malloc keeps free for reuse, which moves RSS in steps
 * of tens of MB and, the other way, lets a leak fill freed space without RSS moving at all. PyTorch's
 * CPU tensors come from malloc, so a native leak shows here. JNA comes with DJL's api.
 */
final class MallocCounters {

    private MallocCounters() {
    }

    /** {@code struct mallinfo2}: ten size_t fields (64-bit on the LP64 Linux this test runs on). */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"})
    public static class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    private interface LibC extends Library {
        MallInfo2 mallinfo2();
    }

    private static final LibC LIBC = Native.load("c", LibC.class);

    /** Bytes in use: allocated from the arenas plus the blocks mmap'ed directly for large requests. */
    static long inUseBytes() {
        MallInfo2 info = LIBC.mallinfo2();
        return info.uordblks + info.hblkhd;
    }
}
