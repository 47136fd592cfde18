//! Sentence salience: TF-IDF vectors, a LexRank-style centrality over their
//! cosine similarities, and the weight of the meeting's topic words.

use std::collections::HashMap;

/// A sparse, L2-normalised TF-IDF vector: (term id, weight), sorted by id.
pub(crate) type Vector = Vec<(usize, f64)>;

/// The term statistics of one meeting.
pub(crate) struct Model {
    ids: HashMap<String, usize>,
    idf: Vec<f64>,
    /// How often each term occurs in the whole meeting.
    frequency: Vec<f64>,
}

impl Model {
    /// Count terms over `documents` (one list of terms per sentence).
    pub(crate) fn fit(documents: &[Vec<String>]) -> Self {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut df: Vec<f64> = Vec::new();
        let mut frequency: Vec<f64> = Vec::new();
        for doc in documents {
            let mut seen = Vec::new();
            for term in doc {
                let next = ids.len();
                let id = *ids.entry(term.clone()).or_insert(next);
                if id == df.len() {
                    df.push(0.0);
                    frequency.push(0.0);
                }
                frequency[id] += 1.0;
                if !seen.contains(&id) {
                    seen.push(id);
                    df[id] += 1.0;
                }
            }
        }
        let n = documents.len() as f64;
        let idf = df
            .iter()
            .map(|d| ((n + 1.0) / (d + 1.0)).ln() + 1.0)
            .collect();
        Model {
            ids,
            idf,
            frequency,
        }
    }

    /// The TF-IDF vector of `terms` (sublinear term frequency).
    pub(crate) fn vector(&self, terms: &[String]) -> Vector {
        let mut counts: HashMap<usize, f64> = HashMap::new();
        for term in terms {
            if let Some(&id) = self.ids.get(term) {
                *counts.entry(id).or_default() += 1.0;
            }
        }
        let mut v: Vector = counts
            .into_iter()
            .map(|(id, tf)| (id, (1.0 + tf.ln()) * self.idf[id]))
            .collect();
        v.sort_by_key(|&(id, _)| id);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        v
    }

    /// How much a term says about this meeting: frequent across the
    /// meeting, yet not spread over every sentence. Terms said once weigh
    /// little, however rare.
    pub(crate) fn topic_weight(&self, term: &str) -> f64 {
        self.ids.get(term).map_or(0.0, |&id| {
            let f = self.frequency[id];
            (f - 1.0).max(0.0).sqrt() * self.idf[id]
        })
    }
}

/// Cosine similarity of two normalised vectors.
pub(crate) fn cosine(a: &Vector, b: &Vector) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

/// LexRank with continuous edge weights: PageRank over the similarity
/// graph, edges below `threshold` dropped. Scores sum to one.
pub(crate) fn centrality(vectors: &[Vector], threshold: f64) -> Vec<f64> {
    let n = vectors.len();
    if n == 0 {
        return Vec::new();
    }
    let edges = similarity_rows(vectors, threshold);
    let damping = 0.85;
    let mut score = vec![1.0 / n as f64; n];
    for _ in 0..60 {
        let mut next = vec![(1.0 - damping) / n as f64; n];
        for (i, row) in edges.iter().enumerate() {
            let total: f64 = row.iter().map(|(_, w)| w).sum();
            if total == 0.0 {
                next.iter_mut()
                    .for_each(|s| *s += damping * score[i] / n as f64);
                continue;
            }
            for &(j, w) in row {
                next[j] += damping * score[i] * w / total;
            }
        }
        score = next;
    }
    score
}

fn similarity_rows(vectors: &[Vector], threshold: f64) -> Vec<Vec<(usize, f64)>> {
    let n = vectors.len();
    let mut rows = vec![Vec::new(); n];
    for i in 0..n {
        for j in (i + 1)..n {
            let s = cosine(&vectors[i], &vectors[j]);
            if s >= threshold {
                rows[i].push((j, s));
                rows[j].push((i, s));
            }
        }
    }
    rows
}

/// Scale `values` to 0..=1 by their maximum.
pub(crate) fn normalise(values: &[f64]) -> Vec<f64> {
    let max = values.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| v / max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn sentences_sharing_the_topic_are_most_central() {
        let d = docs(&[
            "budget search social",
            "budget social influencer",
            "weather rain",
            "budget search",
        ]);
        let model = Model::fit(&d);
        let vectors: Vec<_> = d.iter().map(|t| model.vector(t)).collect();
        let c = centrality(&vectors, 0.05);
        assert!(c[0] > c[2] && c[3] > c[2], "{c:?}");
        assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn repeated_terms_outweigh_terms_said_once() {
        let model = Model::fit(&docs(&["halibut price", "halibut portion", "weather"]));
        assert!(model.topic_weight("halibut") > model.topic_weight("weather"));
        assert_eq!(model.topic_weight("unknown"), 0.0);
    }
}
