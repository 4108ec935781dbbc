using Microsoft.Extensions.Logging;

namespace Recon.Worker.Hosting;

/// <summary>
/// Notices when this process's Durable Task worker holds control-queue messages it never processes. The Azure Storage
/// backend reports a control message it receives again while its first copy is still in memory as a duplicate (event
/// 108, with the queue's dequeue count). An orchestration episode takes milliseconds, so a message seen that way
/// <see cref="RedeliveriesToWedge"/> times has sat unprocessed for that many visibility timeouts: the worker's
/// in-memory sessions are wedged (seen on Azurite under a full test run after a kill -9: every batch's timer message came
/// back nine times and nothing ran for ten minutes), and only rebuilding the worker (<see cref="DurableHost.RecycleAsync"/>)
/// lets those messages be read afresh. Start messages are left out: the backend defers and deduplicates them on purpose.
/// </summary>
public sealed class HeldMessageWatch
{
    /// <summary>The backend's event id for a message received while a copy is held in memory.</summary>
    public const int DuplicateMessageEventId = 108;

    /// <summary>Distinct messages remembered at most; beyond it the oldest knowledge is dropped (memory stays bounded).</summary>
    private const int MaxTracked = 10_000;

    private readonly object _gate = new();
    private readonly Dictionary<string, int> _redeliveries = new(StringComparer.Ordinal);
    private Held? _wedged;

    public HeldMessageWatch(int redeliveriesToWedge = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(redeliveriesToWedge, 1);
        RedeliveriesToWedge = redeliveriesToWedge;
    }

    /// <summary>How many times one message must come back while held before the worker counts as wedged.</summary>
    public int RedeliveriesToWedge { get; }

    /// <summary>One duplicate report from the backend.</summary>
    public void Observe(string? messageId, string? eventType, string? instanceId, long dequeueCount)
    {
        if (string.IsNullOrEmpty(messageId) || string.Equals(eventType, "ExecutionStarted", StringComparison.Ordinal))
        {
            return;
        }
        lock (_gate)
        {
            if (_redeliveries.Count >= MaxTracked && !_redeliveries.ContainsKey(messageId))
            {
                _redeliveries.Clear();
            }
            var seen = _redeliveries.GetValueOrDefault(messageId) + 1;
            _redeliveries[messageId] = seen;
            if (seen >= RedeliveriesToWedge && _wedged is null)
            {
                _wedged = new Held(instanceId ?? "?", eventType ?? "?", messageId, dequeueCount, seen);
            }
        }
    }

    /// <summary>The first message found held too long since the last <see cref="Reset"/>, or null; taking it starts a
    /// new watch, so one wedge leads to one rebuild.</summary>
    public Held? TakeWedged()
    {
        lock (_gate)
        {
            var wedged = _wedged;
            if (wedged is not null)
            {
                _wedged = null;
                _redeliveries.Clear();
            }
            return wedged;
        }
    }

    /// <summary>Forgets everything (a rebuilt worker holds nothing in memory).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _wedged = null;
            _redeliveries.Clear();
        }
    }

    /// <summary>Reads a backend log entry; anything but a duplicate report is ignored.</summary>
    public void ObserveLog(EventId eventId, object? state)
    {
        if (eventId.Id != DuplicateMessageEventId || state is not IEnumerable<KeyValuePair<string, object?>> fields)
        {
            return;
        }
        string? messageId = null, eventType = null, instanceId = null;
        long dequeueCount = 0;
        foreach (var (key, value) in fields)
        {
            switch (key)
            {
                case "MessageId": messageId = value as string; break;
                case "EventType": eventType = value as string; break;
                case "InstanceId": instanceId = value as string; break;
                case "DequeueCount": dequeueCount = value is long l ? l : value is int i ? i : 0; break;
            }
        }
        Observe(messageId, eventType, instanceId, dequeueCount);
    }

    /// <summary>A message that came back <paramref name="Redeliveries"/> times while held.</summary>
    public sealed record Held(string InstanceId, string EventType, string MessageId, long DequeueCount, int Redeliveries)
    {
        public override string ToString()
            => $"{InstanceId}: {EventType} message {MessageId} came back {Redeliveries} times while held unprocessed (dequeue count {DequeueCount})";
    }
}

/// <summary>Hands the Durable Task backend loggers that also show its duplicate-message reports to a <see cref="HeldMessageWatch"/>.</summary>
internal sealed class WatchingLoggerFactory(ILoggerFactory inner, HeldMessageWatch watch) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.StartsWith("DurableTask.AzureStorage", StringComparison.Ordinal) ? new Watching(logger, watch) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The inner factory belongs to the application, which disposes it.</summary>
    public void Dispose()
    {
    }

    private sealed class Watching(ILogger inner, HeldMessageWatch watch) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        // the watch must see duplicate reports even where the application logs warnings off
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning || inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            watch.ObserveLog(eventId, state);
            if (inner.IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
