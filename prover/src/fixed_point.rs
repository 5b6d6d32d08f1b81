//! Fixed-point encoding: real values to the signed integers the round statement works on.
//!
//! A value `x` is stored as the integer `q = round(x · 2^frac_bits)` with `|q| ≤ 2^(bits-1) - 1`.
//! The range is symmetric so that negating an encoded value (a sign-flip) stays in range.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// Bit width of an encoded update value (a trainer's Δ).
pub const UPDATE_BITS: u32 = 8;
/// Bit width of an encoded model value (a global weight).
pub const MODEL_BITS: u32 = 24;

/// Errors raised while encoding real values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodingError {
    /// A value was NaN or infinite.
    #[error("value at index {index} is not finite ({value})")]
    NotFinite {
        /// Position of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A value lies outside the clip bound of the encoding.
    #[error("value at index {index} is {value}, outside the clip bound ±{bound}")]
    OutOfRange {
        /// Position of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
        /// The encoding's clip bound.
        bound: f64,
    },
    /// An encoded integer lies outside the encoding's range.
    #[error("encoded value at index {index} is {value}, outside ±{max}")]
    IntegerOutOfRange {
        /// Position of the offending value.
        index: usize,
        /// The offending integer.
        value: i64,
        /// The largest allowed magnitude.
        max: i64,
    },
    /// The encoding itself is unusable.
    #[error("invalid encoding: {0}")]
    InvalidEncoding(String),
}

/// How real values are rounded to the integer grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rounding {
    /// Round to the nearest grid point.
    Nearest,
    /// Round up or down at random with probability given by the remainder: unbiased, so the
    /// quantization error averages out over trainers. Seeded for reproducibility.
    Stochastic {
        /// Seed of the rounding noise.
        seed: u64,
    },
}

/// A signed fixed-point format: `bits` wide, `frac_bits` fractional bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoding {
    /// Total width of the signed integer, sign included.
    pub bits: u32,
    /// Number of fractional bits: the quantum is `2^-frac_bits`.
    pub frac_bits: u32,
}

impl Encoding {
    /// The encoding of trainer updates with the given number of fractional bits.
    pub fn update(frac_bits: u32) -> Self {
        Self { bits: UPDATE_BITS, frac_bits }
    }

    /// The encoding of global model weights with the given number of fractional bits.
    pub fn model(frac_bits: u32) -> Self {
        Self { bits: MODEL_BITS, frac_bits }
    }

    /// Checks that the format is usable (1 < bits ≤ 62, frac_bits ≤ 62).
    pub fn validate(&self) -> Result<(), EncodingError> {
        if !(2..=62).contains(&self.bits) || self.frac_bits > 62 {
            return Err(EncodingError::InvalidEncoding(format!(
                "bits must be in 2..=62 and frac_bits ≤ 62, got bits={} frac_bits={}",
                self.bits, self.frac_bits
            )));
        }
        Ok(())
    }

    /// The largest encoded magnitude, `2^(bits-1) - 1`.
    pub fn max_int(&self) -> i64 {
        // Clamped so a hand-built invalid encoding cannot overflow the shift; `encode` rejects it.
        (1i64 << (self.bits.clamp(1, 62) - 1)) - 1
    }

    /// The value of one integer step.
    pub fn quantum(&self) -> f64 {
        (-(self.frac_bits as f64)).exp2()
    }

    /// The largest representable magnitude: values beyond it must be clipped first.
    pub fn clip_bound(&self) -> f64 {
        self.max_int() as f64 * self.quantum()
    }

    /// Clamps every value into `±clip_bound`, leaving NaN untouched so `encode` reports it.
    pub fn clip(&self, values: &mut [f64]) {
        let bound = self.clip_bound();
        for v in values.iter_mut() {
            if v.is_finite() {
                *v = v.clamp(-bound, bound);
            } else if v.is_infinite() {
                *v = bound.copysign(*v);
            }
        }
    }

    /// Encodes real values; rejects non-finite values and values outside the clip bound.
    pub fn encode(&self, values: &[f64], rounding: Rounding) -> Result<Vec<i64>, EncodingError> {
        self.validate()?;
        let bound = self.clip_bound();
        let scale = (self.frac_bits as f64).exp2();
        let max = self.max_int();
        let mut rng = match rounding {
            Rounding::Stochastic { seed } => Some(ChaCha20Rng::seed_from_u64(seed)),
            Rounding::Nearest => None,
        };
        values
            .iter()
            .enumerate()
            .map(|(index, &value)| {
                if !value.is_finite() {
                    return Err(EncodingError::NotFinite { index, value });
                }
                if value.abs() > bound {
                    return Err(EncodingError::OutOfRange { index, value, bound });
                }
                let scaled = value * scale;
                let q = match rng.as_mut() {
                    None => scaled.round(),
                    Some(rng) => {
                        let floor = scaled.floor();
                        if rng.gen::<f64>() < scaled - floor {
                            floor + 1.0
                        } else {
                            floor
                        }
                    }
                } as i64;
                Ok(q.clamp(-max, max))
            })
            .collect()
    }

    /// Decodes integers back to real values.
    pub fn decode(&self, values: &[i64]) -> Vec<f64> {
        let quantum = self.quantum();
        values.iter().map(|&q| q as f64 * quantum).collect()
    }

    /// Checks that already-encoded integers are in range.
    pub fn check(&self, values: &[i64]) -> Result<(), EncodingError> {
        let max = self.max_int();
        match values.iter().position(|v| v.abs() > max) {
            Some(index) => Err(EncodingError::IntegerOutOfRange { index, value: values[index], max }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_within_half_a_quantum() {
        let enc = Encoding::update(10);
        let xs = [0.0, 0.1, -0.1, 0.12, -0.124, 0.0004];
        let q = enc.encode(&xs, Rounding::Nearest).unwrap();
        for (x, y) in xs.iter().zip(enc.decode(&q)) {
            assert!((x - y).abs() <= enc.quantum() / 2.0 + 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn rejects_nan_infinity_and_out_of_range_with_position() {
        let enc = Encoding::update(10);
        assert_eq!(
            enc.encode(&[0.0, f64::NAN], Rounding::Nearest).unwrap_err().to_string(),
            "value at index 1 is not finite (NaN)"
        );
        assert!(matches!(
            enc.encode(&[f64::INFINITY], Rounding::Nearest),
            Err(EncodingError::NotFinite { index: 0, .. })
        ));
        assert!(matches!(
            enc.encode(&[0.0, 0.0, 0.2], Rounding::Nearest),
            Err(EncodingError::OutOfRange { index: 2, .. })
        ));
    }

    #[test]
    fn clip_brings_values_into_range() {
        let enc = Encoding::update(10);
        let mut xs = [5.0, -5.0, f64::INFINITY, 0.01];
        enc.clip(&mut xs);
        let q = enc.encode(&xs, Rounding::Nearest).unwrap();
        assert_eq!(q[..3], [127, -127, 127]);
    }

    #[test]
    fn stochastic_rounding_is_unbiased_and_seeded() {
        let enc = Encoding::update(4);
        let xs = vec![0.3 / 16.0; 20_000];
        let a = enc.encode(&xs, Rounding::Stochastic { seed: 7 }).unwrap();
        let b = enc.encode(&xs, Rounding::Stochastic { seed: 7 }).unwrap();
        assert_eq!(a, b);
        let mean = a.iter().sum::<i64>() as f64 / a.len() as f64;
        assert!((mean - 0.3).abs() < 0.02, "mean {mean}");
    }
}
