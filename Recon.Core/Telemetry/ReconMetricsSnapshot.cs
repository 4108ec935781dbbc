using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Recon.Core.Telemetry;

/// <summary>Kind of instrument a series came from.</summary>
public enum MetricKind
{
    /// <summary>Monotonic counter: the series value is the sum.</summary>
    Counter,

    /// <summary>Histogram: the series keeps its samples.</summary>
    Histogram,

    /// <summary>Observable gauge: the series value is the last observation.</summary>
    Gauge,
}

/// <summary>One instrument and one combination of tag values, as seen by <see cref="ReconMetricsSnapshot"/>.</summary>
/// <param name="Name">Instrument name, e.g. <c>recon.provider.calls</c>.</param>
/// <param name="Unit">Instrument unit.</param>
/// <param name="Kind">Counter, histogram or gauge.</param>
/// <param name="Tags">Tag values, sorted by tag name.</param>
/// <param name="Count">Measurements recorded (counters: calls to Add; gauges: observations).</param>
/// <param name="Sum">Counter total, histogram sum, or gauge's last value.</param>
/// <param name="Min">Smallest measurement.</param>
/// <param name="Max">Largest measurement.</param>
/// <param name="P50">Histogram median (nearest rank over the kept samples); NaN for other kinds.</param>
/// <param name="P99">Histogram 99th percentile (nearest rank over the kept samples); NaN for other kinds.</param>
public sealed record MetricSeries(
    string Name,
    string Unit,
    MetricKind Kind,
    IReadOnlyDictionary<string, object?> Tags,
    long Count,
    double Sum,
    double Min,
    double Max,
    double P50,
    double P99)
{
    /// <summary>True when every given tag has the given value (compared as invariant strings).</summary>
    public bool Matches(params (string Tag, object? Value)[] filter)
        => filter.All(f => Tags.TryGetValue(f.Tag, out var v)
            && string.Equals(Convert.ToString(v, CultureInfo.InvariantCulture), Convert.ToString(f.Value, CultureInfo.InvariantCulture), StringComparison.Ordinal));
}

/// <summary>
/// Reads Recon's own instruments in-process with a <see cref="MeterListener"/>, so the demo report and the spike
/// benchmark print the same numbers Application Insights shows in Azure.
/// </summary>
/// <remarks>
/// Start it before the work, call <see cref="Read()"/> after. It listens to the process-wide <c>Recon</c> meter, so two
/// readers alive at once both see everything: filter by tag values that are yours.
/// </remarks>
public sealed class ReconMetricsSnapshot : IDisposable
{
    /// <summary>
    /// Samples kept per histogram series for percentiles. A spike run posts tens of thousands of batches; 200,000
    /// doubles (1.6 MB) per series keeps percentiles exact for any run this machine can do, and bounds memory after.
    /// </summary>
    public const int MaxSamplesPerSeries = 200_000;

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Accumulator> _series = new(StringComparer.Ordinal);

    private ReconMetricsSnapshot()
    {
        // create Recon's instruments before listening, so the callback below never runs ReconMetrics' static constructor
        _ = ReconMetrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ReconMetrics.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        _listener.Start();
    }

    /// <summary>Starts listening to the <c>Recon</c> meter.</summary>
    public static ReconMetricsSnapshot Start() => new();

    /// <summary>Collects the observable gauges and returns every series seen so far, sorted by name and tags.</summary>
    public IReadOnlyList<MetricSeries> Read()
    {
        _listener.RecordObservableInstruments();
        lock (_gate)
        {
            return _series.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value.ToSeries()).ToList();
        }
    }

    /// <summary>Series of one instrument whose tags match the filter.</summary>
    public IReadOnlyList<MetricSeries> Read(string name, params (string Tag, object? Value)[] filter)
        => Read().Where(s => s.Name == name && s.Matches(filter)).ToList();

    /// <summary>Sum of a counter over the series that match the filter (0 when none).</summary>
    public long CounterTotal(string name, params (string Tag, object? Value)[] filter)
        => (long)Read(name, filter).Sum(s => s.Sum);

    /// <summary>A plain-text table of every series: what the demo report and the benchmark print.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"metric",-30} {"tags",-60} {"count",10} {"sum/last",12} {"p50",10} {"p99",10} {"max",10}");
        foreach (var s in Read())
        {
            var tags = string.Join(",", s.Tags.Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{s.Name,-30} {tags,-60} {s.Count,10} {s.Sum,12:0.###} {Show(s.P50),10} {Show(s.P99),10} {s.Max,10:0.###}");
        }
        return text.ToString();

        static string Show(double v) => double.IsNaN(v) ? "-" : v.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct, IConvertible
    {
        var number = value.ToDouble(CultureInfo.InvariantCulture);
        var sorted = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            sorted[tag.Key] = tag.Value;
        }
        var key = instrument.Name + "|" + string.Join(",", sorted.Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"));
        var kind = instrument switch
        {
            Histogram<double> or Histogram<long> or Histogram<int> => MetricKind.Histogram,
            ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double> => MetricKind.Gauge,
            _ => MetricKind.Counter,
        };
        lock (_gate)
        {
            if (!_series.TryGetValue(key, out var acc))
            {
                acc = new Accumulator(instrument.Name, instrument.Unit ?? "", kind, sorted);
                _series[key] = acc;
            }
            acc.Add(number);
        }
    }

    private sealed class Accumulator(string name, string unit, MetricKind kind, IReadOnlyDictionary<string, object?> tags)
    {
        private readonly List<double> _samples = [];
        private long _count;
        private double _sum;
        private double _min = double.PositiveInfinity;
        private double _max = double.NegativeInfinity;

        public void Add(double value)
        {
            _count++;
            _sum = kind == MetricKind.Gauge ? value : _sum + value;
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
            if (kind == MetricKind.Histogram && _samples.Count < MaxSamplesPerSeries)
            {
                _samples.Add(value);
            }
        }

        public MetricSeries ToSeries()
        {
            var p50 = double.NaN;
            var p99 = double.NaN;
            if (kind == MetricKind.Histogram && _samples.Count > 0)
            {
                var sorted = _samples.Order().ToArray();
                p50 = NearestRank(sorted, 0.50);
                p99 = NearestRank(sorted, 0.99);
            }
            return new MetricSeries(name, unit, kind, tags, _count, _sum, _min, _max, p50, p99);
        }

        private static double NearestRank(double[] sorted, double quantile)
            => sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
