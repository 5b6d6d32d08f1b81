//! A 64-32-10 multilayer perceptron: ReLU hidden layer, softmax cross-entropy, minibatch SGD.
//!
//! The flat parameter vector (what trainers send and the round statement commits to) is, in
//! order: `W1` (64×32, row-major: input `i`, hidden `j` at `i·32 + j`), `b1` (32), `W2` (32×10,
//! row-major: hidden `j`, output `k` at `2080 + j·10 + k`), `b2` (10) — [`PARAM_COUNT`] values.

use anyhow::ensure;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use super::data::{Dataset, NUM_CLASSES, NUM_FEATURES};

/// Input width: one value per pixel.
pub const INPUT: usize = NUM_FEATURES;
/// Hidden layer width.
pub const HIDDEN: usize = 32;
/// Output width: one logit per class.
pub const OUTPUT: usize = NUM_CLASSES;
/// The architecture's name in job specs.
pub const MLP_ARCHITECTURE: &str = "mlp-64-32-10";
/// Length of the flat parameter vector: `64·32 + 32 + 32·10 + 10 = 2410`.
pub const PARAM_COUNT: usize = INPUT * HIDDEN + HIDDEN + HIDDEN * OUTPUT + OUTPUT;

/// Hyper-parameters of local minibatch SGD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// SGD step size.
    pub lr: f64,
    /// Passes over the local data.
    pub epochs: usize,
    /// Samples per minibatch (the last one of an epoch may be smaller).
    pub batch_size: usize,
}

/// The model's weights and biases; also used for their gradients, which have the same shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Input→hidden weights, `INPUT × HIDDEN`.
    pub w1: Array2<f64>,
    /// Hidden biases.
    pub b1: Array1<f64>,
    /// Hidden→output weights, `HIDDEN × OUTPUT`.
    pub w2: Array2<f64>,
    /// Output biases.
    pub b2: Array1<f64>,
}

/// Activations kept from the forward pass for backpropagation.
struct Forward {
    /// Hidden pre-activations (their sign is the ReLU mask).
    pre_hidden: Array2<f64>,
    /// Hidden activations.
    hidden: Array2<f64>,
    /// Softmax class probabilities.
    probs: Array2<f64>,
}

impl Mlp {
    /// Seeded initialisation: He-normal for the ReLU layer, Xavier-normal for the softmax layer,
    /// zero biases.
    pub fn init(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut normal = |fan_in: usize, fan_out: usize, var: f64| {
            let std = var.sqrt();
            Array2::from_shape_simple_fn((fan_in, fan_out), || {
                std * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
            })
        };
        let w1 = normal(INPUT, HIDDEN, 2.0 / INPUT as f64);
        let w2 = normal(HIDDEN, OUTPUT, 2.0 / (HIDDEN + OUTPUT) as f64);
        Self { w1, b1: Array1::zeros(HIDDEN), w2, b2: Array1::zeros(OUTPUT) }
    }

    /// Loads the model from the flat layout documented at the top of this module.
    pub fn from_flat(params: &[f64]) -> anyhow::Result<Self> {
        ensure!(params.len() == PARAM_COUNT, "expected {PARAM_COUNT} parameters, got {}", params.len());
        let (w1, rest) = params.split_at(INPUT * HIDDEN);
        let (b1, rest) = rest.split_at(HIDDEN);
        let (w2, b2) = rest.split_at(HIDDEN * OUTPUT);
        Ok(Self {
            w1: Array2::from_shape_vec((INPUT, HIDDEN), w1.to_vec())?,
            b1: Array1::from(b1.to_vec()),
            w2: Array2::from_shape_vec((HIDDEN, OUTPUT), w2.to_vec())?,
            b2: Array1::from(b2.to_vec()),
        })
    }

    /// Flattens the model to the layout documented at the top of this module.
    pub fn to_flat(&self) -> Vec<f64> {
        // `iter()` walks arrays in logical row-major order whatever their memory layout.
        let mut flat = Vec::with_capacity(PARAM_COUNT);
        flat.extend(self.w1.iter());
        flat.extend(self.b1.iter());
        flat.extend(self.w2.iter());
        flat.extend(self.b2.iter());
        flat
    }

    fn forward(&self, x: ArrayView2<f64>) -> Forward {
        let pre_hidden = x.dot(&self.w1) + &self.b1;
        let hidden = pre_hidden.mapv(|v| v.max(0.0));
        let mut probs = hidden.dot(&self.w2) + &self.b2;
        // Subtract each row's max before exponentiating so large logits cannot overflow.
        for mut row in probs.rows_mut() {
            let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            row.mapv_inplace(|v| (v - max).exp());
            let total = row.sum();
            row /= total;
        }
        Forward { pre_hidden, hidden, probs }
    }

    /// Mean cross-entropy of the model on the given samples (training only needs it alongside
    /// the gradient; the finite-difference check needs it alone).
    #[cfg(test)]
    pub fn loss(&self, x: ArrayView2<f64>, labels: &[usize]) -> f64 {
        cross_entropy(&self.forward(x).probs, labels)
    }

    /// Mean cross-entropy and its gradient with respect to every parameter.
    pub fn gradients(&self, x: ArrayView2<f64>, labels: &[usize]) -> (f64, Mlp) {
        let fwd = self.forward(x);
        let loss = cross_entropy(&fwd.probs, labels);
        // d(mean CE)/d(logits) = (softmax − one-hot) / batch.
        let mut d_logits = fwd.probs;
        for (mut row, &label) in d_logits.rows_mut().into_iter().zip(labels) {
            row[label] -= 1.0;
        }
        d_logits /= labels.len() as f64;
        let mut d_hidden = d_logits.dot(&self.w2.t());
        Zip::from(&mut d_hidden).and(&fwd.pre_hidden).for_each(|d, &pre| {
            if pre <= 0.0 {
                *d = 0.0;
            }
        });
        let grad = Mlp {
            w1: x.t().dot(&d_hidden),
            b1: d_hidden.sum_axis(Axis(0)),
            w2: fwd.hidden.t().dot(&d_logits),
            b2: d_logits.sum_axis(Axis(0)),
        };
        (loss, grad)
    }

    /// `self ← self + scale · other`, parameter by parameter.
    fn add_scaled(&mut self, scale: f64, other: &Mlp) {
        self.w1.scaled_add(scale, &other.w1);
        self.b1.scaled_add(scale, &other.b1);
        self.w2.scaled_add(scale, &other.w2);
        self.b2.scaled_add(scale, &other.b2);
    }

    /// Runs `config.epochs` passes of minibatch SGD over `data`, reshuffling every epoch with a
    /// generator seeded by `seed`.
    pub fn train(&mut self, data: &Dataset, config: &TrainConfig, seed: u64) -> anyhow::Result<()> {
        ensure!(config.batch_size > 0, "batch size must be positive");
        ensure!(config.lr.is_finite() && config.lr > 0.0, "learning rate must be positive");
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(config.batch_size) {
                let x = data.features.select(Axis(0), batch);
                let labels: Vec<usize> = batch.iter().map(|&i| data.labels[i]).collect();
                let (_, grad) = self.gradients(x.view(), &labels);
                self.add_scaled(-config.lr, &grad);
            }
        }
        Ok(())
    }

    /// Predicted class of every row.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<usize> {
        self.forward(x)
            .probs
            .rows()
            .into_iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |best, (k, &p)| if p > best.1 { (k, p) } else { best })
                    .0
            })
            .collect()
    }

    /// Fraction of `data` classified correctly, in [0, 1].
    pub fn accuracy(&self, data: &Dataset) -> f64 {
        if data.is_empty() {
            return 0.0;
        }
        let correct = self.predict(data.features.view()).iter().zip(&data.labels).filter(|(p, l)| p == l).count();
        correct as f64 / data.len() as f64
    }
}

fn cross_entropy(probs: &Array2<f64>, labels: &[usize]) -> f64 {
    // Floor the probability so a confidently wrong prediction gives a large, finite loss.
    let total: f64 = labels.iter().enumerate().map(|(i, &l)| -probs[[i, l]].max(1e-300).ln()).sum();
    total / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::data::{load_digits, train_test_split};

    #[test]
    fn param_count_is_2410_and_flat_round_trips() {
        assert_eq!(PARAM_COUNT, 2410);
        let m = Mlp::init(5);
        let flat = m.to_flat();
        assert_eq!(flat.len(), PARAM_COUNT);
        assert_eq!(Mlp::from_flat(&flat).expect("from_flat"), m);
        // Spot-check the documented layout.
        assert_eq!(flat[3 * HIDDEN + 7], m.w1[[3, 7]]);
        assert_eq!(flat[INPUT * HIDDEN + HIDDEN + 4 * OUTPUT + 2], m.w2[[4, 2]]);
        assert!(Mlp::from_flat(&flat[1..]).is_err());
    }

    #[test]
    fn init_is_seeded() {
        assert_eq!(Mlp::init(1), Mlp::init(1));
        assert_ne!(Mlp::init(1), Mlp::init(2));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let data = load_digits().expect("digits");
        let batch = data.select(&[0, 1, 2, 3, 4]);
        let mut m = Mlp::init(11);
        // Non-zero biases so their gradients are exercised away from the initial point.
        m.b1.fill(0.05);
        m.b2.fill(-0.1);
        let (_, grad) = m.gradients(batch.features.view(), &batch.labels);
        let analytic = grad.to_flat();
        let base = m.to_flat();
        let eps = 1e-6;
        let mut worst: f64 = 0.0;
        for i in 0..PARAM_COUNT {
            let mut plus = base.clone();
            plus[i] += eps;
            let mut minus = base.clone();
            minus[i] -= eps;
            let lp = Mlp::from_flat(&plus).expect("flat").loss(batch.features.view(), &batch.labels);
            let lm = Mlp::from_flat(&minus).expect("flat").loss(batch.features.view(), &batch.labels);
            let numeric = (lp - lm) / (2.0 * eps);
            let err = (numeric - analytic[i]).abs() / (1e-4 + numeric.abs() + analytic[i].abs());
            worst = worst.max(err);
        }
        assert!(worst < 1e-4, "worst relative gradient error {worst}");
        assert!(analytic.iter().any(|g| g.abs() > 1e-3), "gradient should not vanish");
    }

    #[test]
    fn centralised_training_exceeds_90_percent() {
        let data = load_digits().expect("digits");
        let (train, test) = train_test_split(&data, 0.2, 1).expect("split");
        let mut m = Mlp::init(1);
        let before = m.accuracy(&test);
        m.train(&train, &TrainConfig { lr: 0.1, epochs: 15, batch_size: 32 }, 1).expect("train");
        let after = m.accuracy(&test);
        assert!(after > 0.9, "test accuracy {before} → {after}");
    }
}
