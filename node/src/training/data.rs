//! The UCI 8×8 digits data set (shipped inside `smartcore`, so nothing is downloaded), the
//! owner's held-out test split and the non-IID Dirichlet partition over trainers.

use anyhow::{bail, ensure, Context};
use ndarray::{Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Gamma};

/// Features per image: 8×8 pixels.
pub const NUM_FEATURES: usize = 64;
/// Number of classes: the digits 0–9.
pub const NUM_CLASSES: usize = 10;
/// Number of images in the data set.
pub const NUM_SAMPLES: usize = 1_797;
/// Largest raw pixel value: the UCI set counts set pixels in 4×4 blocks, so 0..=16.
const PIXEL_MAX: f64 = 16.0;
/// Redraws allowed before giving up on a partition in which every trainer has enough samples.
const MAX_PARTITION_ATTEMPTS: usize = 10_000;

/// Labelled samples: one row of features per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Features, `len() × NUM_FEATURES`, scaled to [0, 1].
    pub features: Array2<f64>,
    /// Class of each row, in `0..NUM_CLASSES`.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples at the given row indices, in that order.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            features: self.features.select(Axis(0), rows),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
        }
    }
}

/// Loads the digits data set with pixel values scaled from 0..=16 to [0, 1].
pub fn load_digits() -> anyhow::Result<Dataset> {
    let raw = smartcore::dataset::digits::load_dataset();
    ensure!(
        raw.num_features == NUM_FEATURES && raw.num_samples == NUM_SAMPLES && raw.target.len() == NUM_SAMPLES,
        "digits data set has an unexpected shape: {} samples × {} features, {} labels",
        raw.num_samples,
        raw.num_features,
        raw.target.len()
    );
    let features = Array2::from_shape_vec(
        (raw.num_samples, raw.num_features),
        raw.data.iter().map(|&v| f64::from(v) / PIXEL_MAX).collect(),
    )
    .context("reshaping the digits features")?;
    let labels = raw
        .target
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            // Labels are stored as f32; anything but a small whole number means a corrupt file.
            if t.fract() != 0.0 || !(0.0..NUM_CLASSES as f32).contains(&t) {
                bail!("digits label {i} is {t}, not a class in 0..{NUM_CLASSES}");
            }
            Ok(t as usize)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Dataset { features, labels })
}

/// Loads a trainer's private data from a CSV file: one sample per line, 64 pixel values in
/// 0..=16 followed by the label in 0..=9 (the UCI digits layout). Errors name the line.
pub fn load_csv(path: &std::path::Path) -> anyhow::Result<Dataset> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{} line {}", path.display(), i + 1);
        let values: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not a list of numbers", at()))?;
        ensure!(
            values.len() == NUM_FEATURES + 1,
            "{}: {} values, expected {} (64 pixels and a label)",
            at(),
            values.len(),
            NUM_FEATURES + 1
        );
        let label = values[NUM_FEATURES];
        ensure!(
            label.fract() == 0.0 && (0.0..NUM_CLASSES as f64).contains(&label),
            "{}: label {label} is not in 0..=9",
            at()
        );
        ensure!(
            values[..NUM_FEATURES].iter().all(|v| (0.0..=PIXEL_MAX).contains(v)),
            "{}: pixel values must be in 0..=16",
            at()
        );
        features.extend(values[..NUM_FEATURES].iter().map(|v| v / PIXEL_MAX));
        labels.push(label as usize);
    }
    ensure!(!labels.is_empty(), "{} holds no samples", path.display());
    let features = Array2::from_shape_vec((labels.len(), NUM_FEATURES), features).context("reshaping the features")?;
    Ok(Dataset { features, labels })
}

/// Writes samples in the layout [`load_csv`] reads (pixels back in 0..=16).
pub fn write_csv(path: &std::path::Path, data: &Dataset) -> anyhow::Result<()> {
    let mut text = String::new();
    for (row, label) in data.features.rows().into_iter().zip(&data.labels) {
        for v in row {
            text += &format!("{},", (v * PIXEL_MAX).round());
        }
        text += &format!("{label}\n");
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Splits off a seeded random `test_fraction` of the samples as the owner's held-out test set.
/// Returns `(train, test)`.
pub fn train_test_split(data: &Dataset, test_fraction: f64, seed: u64) -> anyhow::Result<(Dataset, Dataset)> {
    ensure!(test_fraction > 0.0 && test_fraction < 1.0, "test fraction must be in (0, 1), got {test_fraction}");
    let mut rows: Vec<usize> = (0..data.len()).collect();
    rows.shuffle(&mut ChaCha20Rng::seed_from_u64(seed));
    let test_len = (data.len() as f64 * test_fraction).round() as usize;
    let (test, train) = rows.split_at(test_len);
    Ok((data.select(train), data.select(test)))
}

/// Partitions sample indices over `trainers` with label skew: for every class, the share each
/// trainer gets is drawn from a Dirichlet(α) (normalised Gamma(α, 1) draws). Small α gives each
/// trainer few classes; large α approaches an IID split. The draw is repeated until every trainer
/// holds at least `min_samples`, so no trainer is left without data. Every index appears in
/// exactly one shard.
pub fn dirichlet_partition(
    labels: &[usize],
    trainers: usize,
    alpha: f64,
    min_samples: usize,
    seed: u64,
) -> anyhow::Result<Vec<Vec<usize>>> {
    ensure!(trainers > 0, "need at least one trainer");
    ensure!(alpha.is_finite() && alpha > 0.0, "Dirichlet α must be positive, got {alpha}");
    ensure!(
        labels.len() >= trainers * min_samples,
        "{} samples cannot give {trainers} trainers {min_samples} each",
        labels.len()
    );
    let gamma = Gamma::new(alpha, 1.0).context("Dirichlet α")?;
    let mut by_class = vec![Vec::new(); NUM_CLASSES];
    for (i, &label) in labels.iter().enumerate() {
        ensure!(label < NUM_CLASSES, "label {label} at index {i} is not a class");
        by_class[label].push(i);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for _ in 0..MAX_PARTITION_ATTEMPTS {
        let mut shards = vec![Vec::new(); trainers];
        for class_rows in &by_class {
            let mut rows = class_rows.clone();
            rows.shuffle(&mut rng);
            let weights: Vec<f64> = (0..trainers).map(|_| gamma.sample(&mut rng)).collect();
            let total: f64 = weights.iter().sum();
            // With tiny α every Gamma draw can underflow to zero; give the class to one trainer.
            let weights = if total > 0.0 {
                weights.iter().map(|w| w / total).collect()
            } else {
                let mut w = vec![0.0; trainers];
                w[rows.len() % trainers] = 1.0;
                w
            };
            let mut start = 0;
            let mut cumulative = 0.0;
            for (t, w) in weights.iter().enumerate() {
                cumulative += w;
                // Cut at rounded cumulative shares so the pieces tile the class exactly.
                let end = if t + 1 == trainers {
                    rows.len()
                } else {
                    ((cumulative * rows.len() as f64).round() as usize).clamp(start, rows.len())
                };
                shards[t].extend_from_slice(&rows[start..end]);
                start = end;
            }
        }
        if shards.iter().all(|s| s.len() >= min_samples) {
            return Ok(shards);
        }
    }
    bail!(
        "no Dirichlet(α={alpha}) partition over {trainers} trainers gave each {min_samples} samples \
         in {MAX_PARTITION_ATTEMPTS} draws; raise α or lower the trainer count"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> Dataset {
        load_digits().expect("digits load")
    }

    #[test]
    fn csv_round_trips() {
        let data = digits().select(&[0, 5, 17]);
        let file = tempfile::NamedTempFile::new().expect("temp");
        write_csv(file.path(), &data).expect("write");
        let back = load_csv(file.path()).expect("read");
        assert_eq!(back.labels, data.labels);
        assert_eq!(back.features, data.features);
    }

    #[test]
    fn digits_have_the_documented_shape_and_range() {
        let d = digits();
        assert_eq!(d.features.dim(), (NUM_SAMPLES, NUM_FEATURES));
        assert_eq!(d.labels.len(), NUM_SAMPLES);
        let mut seen = [0usize; NUM_CLASSES];
        for &l in &d.labels {
            seen[l] += 1;
        }
        // Every class is present with roughly its UCI count (~180 each).
        assert!(seen.iter().all(|&c| c > 150), "{seen:?}");
        assert!(d.features.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(d.features.iter().any(|&v| v == 1.0), "pixel max should map to 1");
    }

    #[test]
    fn split_is_seeded_and_disjoint() {
        let d = digits();
        let (train, test) = train_test_split(&d, 0.2, 3).expect("split");
        assert_eq!(test.len(), 359);
        assert_eq!(train.len() + test.len(), NUM_SAMPLES);
        let (train2, _) = train_test_split(&d, 0.2, 3).expect("split");
        assert_eq!(train, train2);
        let (train3, _) = train_test_split(&d, 0.2, 4).expect("split");
        assert_ne!(train, train3);
    }

    fn sorted_union(shards: &[Vec<usize>]) -> Vec<usize> {
        let mut all: Vec<usize> = shards.iter().flatten().copied().collect();
        all.sort_unstable();
        all
    }

    #[test]
    fn dirichlet_partition_covers_each_sample_once_and_is_seeded() {
        let labels = digits().labels;
        let shards = dirichlet_partition(&labels, 10, 0.5, 10, 1).expect("partition");
        assert_eq!(shards.len(), 10);
        assert!(shards.iter().all(|s| s.len() >= 10));
        assert_eq!(sorted_union(&shards), (0..labels.len()).collect::<Vec<_>>());
        assert_eq!(shards, dirichlet_partition(&labels, 10, 0.5, 10, 1).expect("partition"));
        assert_ne!(shards, dirichlet_partition(&labels, 10, 0.5, 10, 2).expect("partition"));
    }

    /// Mean over trainers of the share of a trainer's samples in its most frequent class.
    fn mean_dominant_share(labels: &[usize], shards: &[Vec<usize>]) -> f64 {
        shards
            .iter()
            .map(|s| {
                let mut counts = [0usize; NUM_CLASSES];
                for &i in s {
                    counts[labels[i]] += 1;
                }
                counts.iter().max().copied().unwrap_or(0) as f64 / s.len() as f64
            })
            .sum::<f64>()
            / shards.len() as f64
    }

    #[test]
    fn smaller_alpha_gives_more_label_skew() {
        let labels = digits().labels;
        let skewed = dirichlet_partition(&labels, 10, 0.1, 5, 7).expect("partition");
        let mild = dirichlet_partition(&labels, 10, 100.0, 5, 7).expect("partition");
        assert_ne!(skewed, mild);
        assert_eq!(sorted_union(&skewed), (0..labels.len()).collect::<Vec<_>>());
        let (s, m) = (mean_dominant_share(&labels, &skewed), mean_dominant_share(&labels, &mild));
        assert!(s > 0.4 && m < 0.2, "dominant share: α=0.1 {s}, α=100 {m}");
    }

    #[test]
    fn impossible_partitions_are_rejected() {
        let labels = vec![0usize; 20];
        assert!(dirichlet_partition(&labels, 10, 0.5, 3, 1).is_err());
        assert!(dirichlet_partition(&labels, 2, 0.0, 1, 1).is_err());
    }
}
