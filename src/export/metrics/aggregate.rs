//! Measurements → OTLP metric data: explicit-bucket histograms and a monotonic sum per
//! (instrument, attribute set), and the `ExportMetricsServiceRequest` that carries them.
//!
//! Histogram buckets follow OTLP: bucket `i` counts values in `(bounds[i-1], bounds[i]]`, the
//! last one values above every bound. Two aggregates of the same series merge exactly (counts,
//! sums, buckets added; min and max kept), so a window that failed to export can be folded into
//! the next one.

use super::measure::{Instrument, Measurement};
use crate::export::convert::SCOPE_NAME;
use crate::export::otlp::Temporality;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// One series: an instrument and an attribute set.
type SeriesKey = (Instrument, Vec<(&'static str, String)>);

/// What one series recorded.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// One count per bucket (bounds + 1); empty for the counter.
    buckets: Vec<u64>,
}

/// Every series recorded since `since`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aggregates {
    since: SystemTime,
    series: BTreeMap<SeriesKey, Series>,
}

impl Aggregates {
    /// Nothing recorded yet, the window starting at `since`.
    pub(crate) fn new(since: SystemTime) -> Self {
        Aggregates {
            since,
            series: BTreeMap::new(),
        }
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Records one measurement.
    pub(crate) fn add(&mut self, measurement: &Measurement) {
        let bounds = measurement.instrument.buckets().unwrap_or(&[]);
        let series = self
            .series
            .entry((measurement.instrument, measurement.attributes.clone()))
            .or_insert_with(|| Series {
                count: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                buckets: if bounds.is_empty() {
                    Vec::new()
                } else {
                    vec![0; bounds.len() + 1]
                },
            });
        let value = measurement.value;
        series.count += 1;
        series.sum += value;
        series.min = series.min.min(value);
        series.max = series.max.max(value);
        if !series.buckets.is_empty() {
            let index = bounds
                .iter()
                .position(|bound| value <= *bound)
                .unwrap_or(bounds.len());
            series.buckets[index] += 1;
        }
    }

    /// Folds `other` in; the window starts at the earlier start.
    pub(crate) fn merge(&mut self, other: Aggregates) {
        self.since = self.since.min(other.since);
        for (key, theirs) in other.series {
            match self.series.get_mut(&key) {
                None => {
                    self.series.insert(key, theirs);
                }
                Some(ours) => {
                    ours.count += theirs.count;
                    ours.sum += theirs.sum;
                    ours.min = ours.min.min(theirs.min);
                    ours.max = ours.max.max(theirs.max);
                    for (mine, other) in ours.buckets.iter_mut().zip(theirs.buckets) {
                        *mine += other;
                    }
                }
            }
        }
    }

    /// The request carrying every series, observed at `now`, for `resource`.
    pub(crate) fn request(
        &self,
        resource: &Resource,
        temporality: Temporality,
        now: SystemTime,
    ) -> ExportMetricsServiceRequest {
        let times = (nanos(self.since), nanos(now));
        let temporality = match temporality {
            Temporality::Cumulative => AggregationTemporality::Cumulative,
            Temporality::Delta => AggregationTemporality::Delta,
        } as i32;
        let mut metrics: Vec<Metric> = Vec::new();
        for ((instrument, attributes), series) in &self.series {
            let attributes = key_values(attributes);
            if metrics
                .last()
                .is_none_or(|metric| metric.name != instrument.name())
            {
                metrics.push(empty_metric(*instrument, temporality));
            }
            if let Some(metric) = metrics.last_mut() {
                push_point(metric, *instrument, attributes, series, times);
            }
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: SCOPE_NAME.to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

/// A metric of `instrument` with no data points yet.
fn empty_metric(instrument: Instrument, temporality: i32) -> Metric {
    let data = match instrument.buckets() {
        Some(_) => metric::Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: temporality,
        }),
        None => metric::Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: temporality,
            is_monotonic: true,
        }),
    };
    Metric {
        name: instrument.name().to_owned(),
        description: instrument.description().to_owned(),
        unit: instrument.unit().to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

/// Adds the data point of `series` to `metric`, a metric of `instrument`.
fn push_point(
    metric: &mut Metric,
    instrument: Instrument,
    attributes: Vec<KeyValue>,
    series: &Series,
    times: (u64, u64),
) {
    let (start_time_unix_nano, time_unix_nano) = times;
    match &mut metric.data {
        Some(metric::Data::Histogram(histogram)) => {
            histogram.data_points.push(HistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count: series.count,
                sum: Some(series.sum),
                bucket_counts: series.buckets.clone(),
                explicit_bounds: instrument.buckets().unwrap_or_default().to_vec(),
                exemplars: Vec::new(),
                flags: 0,
                min: Some(series.min),
                max: Some(series.max),
            });
        }
        Some(metric::Data::Sum(sum)) => sum.data_points.push(NumberDataPoint {
            attributes,
            start_time_unix_nano,
            time_unix_nano,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(number_data_point::Value::AsInt(
                i64::try_from(series.count).unwrap_or(i64::MAX),
            )),
        }),
        _ => {}
    }
}

fn key_values(attributes: &[(&'static str, String)]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(key, value)| KeyValue {
            key: (*key).to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.clone())),
            }),
            ..KeyValue::default()
        })
        .collect()
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn tokens(value: f64, model: &str) -> Measurement {
        Measurement {
            instrument: Instrument::TokenUsage,
            value,
            attributes: vec![("gen_ai.request.model", model.to_owned())],
        }
    }

    fn call() -> Measurement {
        Measurement {
            instrument: Instrument::ToolCalls,
            value: 1.0,
            attributes: Vec::new(),
        }
    }

    fn histogram(request: &ExportMetricsServiceRequest) -> &Histogram {
        match &request.resource_metrics[0].scope_metrics[0].metrics[0].data {
            Some(metric::Data::Histogram(histogram)) => histogram,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_fall_in_the_bucket_whose_upper_bound_they_do_not_exceed() {
        let mut aggregates = Aggregates::new(UNIX_EPOCH);
        for value in [0.0, 1.0, 2.0, 4.0, 5.0, 1e9] {
            aggregates.add(&tokens(value, "m"));
        }
        let request = aggregates.request(
            &Resource::default(),
            Temporality::Delta,
            UNIX_EPOCH + Duration::from_secs(1),
        );
        let point = &histogram(&request).data_points[0];
        assert_eq!(&point.bucket_counts[..4], &[2, 2, 1, 0]);
        assert_eq!(point.bucket_counts[14], 1);
        assert_eq!(point.bucket_counts.iter().sum::<u64>(), 6);
        assert_eq!(point.explicit_bounds.len(), 14);
        assert_eq!(
            (point.count, point.min, point.max),
            (6, Some(0.0), Some(1e9))
        );
        assert_eq!(
            (point.start_time_unix_nano, point.time_unix_nano),
            (0, 1_000_000_000)
        );
        assert_eq!(
            histogram(&request).aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
    }

    #[test]
    fn each_attribute_set_is_its_own_data_point_of_one_metric() {
        let mut aggregates = Aggregates::new(UNIX_EPOCH);
        aggregates.add(&tokens(10.0, "a"));
        aggregates.add(&tokens(20.0, "b"));
        aggregates.add(&call());
        aggregates.add(&call());
        let request = aggregates.request(&Resource::default(), Temporality::Cumulative, UNIX_EPOCH);
        let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["gen_ai.client.token.usage", "codex.tool.calls"]);
        assert_eq!(histogram(&request).data_points.len(), 2);
        let Some(metric::Data::Sum(sum)) = &metrics[1].data else {
            panic!("{metrics:?}");
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.data_points[0].value,
            Some(number_data_point::Value::AsInt(2))
        );
    }

    #[test]
    fn merging_two_windows_equals_recording_both() {
        let (mut first, mut second, mut both) = (
            Aggregates::new(UNIX_EPOCH + Duration::from_secs(5)),
            Aggregates::new(UNIX_EPOCH + Duration::from_secs(9)),
            Aggregates::new(UNIX_EPOCH + Duration::from_secs(5)),
        );
        for (value, target) in [(3.0, &mut first), (300.0, &mut second)] {
            target.add(&tokens(value, "m"));
        }
        second.add(&call());
        for measurement in [tokens(3.0, "m"), tokens(300.0, "m"), call()] {
            both.add(&measurement);
        }
        first.merge(second);
        assert_eq!(first, both);
        assert!(!first.is_empty() && Aggregates::new(UNIX_EPOCH).is_empty());
    }
}
