using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Recon.Tests.Telemetry;

/// <summary>A plain MeterListener on the Recon meter that keeps every measurement, independent of ReconMetricsSnapshot.</summary>
public sealed class MeasurementRecorder : IDisposable
{
    private readonly MeterListener _listener = new();

    public MeasurementRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Recon")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    public ConcurrentQueue<Recorded> Measurements { get; } = new();

    public void CollectObservables() => _listener.RecordObservableInstruments();

    /// <summary>Measurements of one instrument carrying the given tag value (tests use values no other test uses).</summary>
    public IReadOnlyList<Recorded> Where(string instrument, string tag, object value)
        => Measurements.Where(m => m.Instrument.Name == instrument && m.Tags.TryGetValue(tag, out var v) && Equals(v, value)).ToList();

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var t in tags)
        {
            copy[t.Key] = t.Value;
        }
        Measurements.Enqueue(new Recorded(instrument, value, copy));
    }

    public sealed record Recorded(Instrument Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);
}
