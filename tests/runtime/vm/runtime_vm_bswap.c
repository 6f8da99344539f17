/* Byte order: le16/le32 truncate (zero-extend) on this little-endian host, le64 is a no-op,
 * be16/32/64 swap, and the v4 bswap16/32/64 (ALU64 END) swap unconditionally; bits above the
 * width are cleared. */
#include "vm_test.h"

#define END(cls, srcbit, d, width) RAW((cls) | BPF_END | (srcbit), d, 0, 0, width)

int main(void)
{
    const uint64_t V = 0x0123456789abcdefull;
    RUN(0xcdef, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_LE, 0, 16), EXIT());
    RUN(0x89abcdef, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_LE, 0, 32), EXIT());
    RUN(V, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_LE, 0, 64), EXIT());
    RUN(0xefcd, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_BE, 0, 16), EXIT());
    RUN(0xefcdab89, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_BE, 0, 32), EXIT());
    RUN(0xefcdab8967452301ull, LD_IMM64(0, V), END(BPF_ALU, BPF_TO_BE, 0, 64), EXIT());
    RUN(0xefcd, LD_IMM64(0, V), END(BPF_ALU64, RT_BPF_BSWAP, 0, 16), EXIT());
    RUN(0xefcdab89, LD_IMM64(0, V), END(BPF_ALU64, RT_BPF_BSWAP, 0, 32), EXIT());
    RUN(0xefcdab8967452301ull, LD_IMM64(0, V), END(BPF_ALU64, RT_BPF_BSWAP, 0, 64), EXIT());
    /* applied twice: identity on the width */
    RUN(0xcdef, LD_IMM64(0, V), END(BPF_ALU64, RT_BPF_BSWAP, 0, 16),
        END(BPF_ALU64, RT_BPF_BSWAP, 0, 16), EXIT());
    printf("bswap: ok\n");
    return 0;
}
