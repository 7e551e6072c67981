/// `crush_ln`: 2^44 * log2(x + 1) in fixed point, for x in 0...0xffff.
///
/// Source: ceph/ceph `src/crush/mapper.c` (`crush_ln`) and the tables of
/// `src/crush/crush_ln_table.h` (``CRUSHLnTable``). straw2 compares draws computed
/// from this value, so it must match Ceph bit for bit: it is pure integer arithmetic
/// (normalise the input to 17 bits, look up a coarse reciprocal and log by the top
/// bits, refine the log by the next 8 bits).
package enum CRUSHLn {
    @inline(__always)
    package static func ln(_ input: UInt32) -> UInt64 {
        // Only the low 16 bits are meaningful (callers mask the hash with 0xffff);
        // masking keeps every table index in range for any input.
        var x = (input & 0xffff) &+ 1
        var exponent: UInt64 = 15
        if x & 0x18000 == 0 {
            let shift = UInt32((x & 0x1ffff).leadingZeroBitCount) - 16
            x <<= shift
            exponent = 15 - UInt64(shift)
        }
        let index1 = Int((x >> 8) << 1)
        let rh = CRUSHLnTable.rhlh[index1 - 256]
        var lh = CRUSHLnTable.rhlh[index1 + 1 - 256]
        let xl64 = (UInt64(x) &* rh) >> 48
        let index2 = Int(xl64 & 0xff)
        lh = lh &+ CRUSHLnTable.ll[index2]
        lh >>= 48 - 12 - 32
        return (exponent << 44) &+ lh
    }
}
