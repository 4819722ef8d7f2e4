//! IEEE half precision <-> single precision, bit-exact (round to nearest, ties to even), without a dependency.
//! The SIMD paths use F16C; these are the portable versions and the reference the tests compare against.

/// `f16` bits to `f32` (exact: every half is representable).
pub(crate) fn to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = man * 2^-24; normalise it.
            let shift = man.leading_zeros() - 21; // so that bit 10 is the leading one
            let man = (man << shift) & 0x3ff;
            let exp = 127 - 15 + 1 - shift;
            sign | exp << 23 | man << 13
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | man << 13,
        _ => sign | (exp + 127 - 15) << 23 | man << 13,
    };
    f32::from_bits(bits)
}

/// `f32` to `f16` bits, rounding to nearest with ties to even (what F16C's `vcvtps2ph` with mode 0 does).
pub(crate) fn from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 | (man >> 13) as u16 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal half (or zero): shift the full mantissa (with its implicit one) into place.
        if e < -10 {
            return sign;
        }
        let full = man | 0x80_0000;
        let shift = (14 - e) as u32; // 24-bit mantissa -> 10-bit subnormal field
        let half = full >> shift;
        let rest = full & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        let round = rest > halfway || (rest == halfway && half & 1 == 1);
        return sign | (half + u32::from(round)) as u16;
    }
    let half = (e as u32) << 10 | man >> 13;
    let rest = man & 0x1fff;
    let round = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | (half + u32::from(round)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_half_round_trips() {
        for h in 0..=u16::MAX {
            let f = to_f32(h);
            if f.is_nan() {
                assert!(to_f32(from_f32(f)).is_nan());
            } else {
                assert_eq!(from_f32(f), h, "{h:#06x} -> {f}");
            }
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1.0).
        assert_eq!(from_f32(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9: rounds up to even.
        assert_eq!(from_f32(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(from_f32(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert_eq!(from_f32(65520.0), 0x7c00, "overflows to infinity");
        assert_eq!(from_f32(65519.0), 0x7bff);
        assert_eq!(from_f32(2f32.powi(-25)), 0, "half of the smallest subnormal ties to zero");
        assert_eq!(from_f32(1.5 * 2f32.powi(-25)), 1);
        assert_eq!(from_f32(-2f32.powi(-24)), 0x8001);
    }
}
