using System.Diagnostics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Recon.Bench.Spike;

/// <summary>What a storage-queue request was, from its method and address.</summary>
public static class QueueCallKind
{
    public const string Send = "send";
    public const string Receive = "receive";
    public const string Peek = "peek";
    public const string Delete = "delete";
    public const string Update = "update";
    public const string GetProperties = "get_properties";
    public const string Other = "other";

    /// <summary>Classifies a Queue service REST call: POST …/messages sends, GET …/messages receives (peekonly: peeks),
    /// DELETE …/messages/{id} deletes, PUT …/messages/{id} updates (abandon), GET/HEAD …?comp=metadata reads properties.</summary>
    public static string Of(string method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = uri.AbsolutePath.TrimEnd('/');
        var query = uri.Query;
        var messages = path.EndsWith("/messages", StringComparison.OrdinalIgnoreCase);
        var oneMessage = !messages && path.Contains("/messages/", StringComparison.OrdinalIgnoreCase);
        return method.ToUpperInvariant() switch
        {
            "POST" when messages => Send,
            "GET" when messages => query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase) ? Peek : Receive,
            "DELETE" when oneMessage => Delete,
            "PUT" when oneMessage => Update,
            "GET" or "HEAD" when query.Contains("comp=metadata", StringComparison.OrdinalIgnoreCase) => GetProperties,
            _ => Other,
        };
    }
}

/// <summary>One storage-queue call as the bench's workers saw it: when it ended (seconds since the run started), how
/// long it took with its retries, how many tries it took, how many of those hit the client's network timeout, and
/// whether it failed in the end.</summary>
/// <param name="Operation">The REST API's name for it (<see cref="Cost.StorageOperations"/>: PutMessage, CreateQueue, ...), or
/// "unclassified METHOD /path" when the REST API defines no such request (the cost stage then fails naming it).</param>
public readonly record struct QueueCall(double At, string Kind, double Milliseconds, int Tries, int Timeouts, bool Failed, string Operation = "")
{
    /// <summary>The REST operation of a queue request, or "unclassified METHOD /path".</summary>
    public static string OperationOf(string method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        try
        {
            return Cost.StorageOperations.Classify(Cost.StorageService.Queue, method, uri);
        }
        catch (ArgumentException)
        {
            return $"unclassified {method} {uri.AbsolutePath}";
        }
    }
}

/// <summary>
/// Times every storage-queue call a mode makes, through two Azure SDK pipeline policies on the mode's own queue client:
/// one per call (what the dispatcher or worker waits for, retries included) and one per try (to count the tries and the
/// tries that hit the network timeout, which the SDK would otherwise retry silently). Calls made while no run is
/// attached (queue creation, clean-up) are not recorded.
/// </summary>
public sealed class QueueCallMeter
{
    private readonly AsyncLocal<CallState?> _current = new();
    private volatile SpikeRecorder? _recorder;

    /// <summary>Adds the meter's policies to <paramref name="options"/>.</summary>
    public void Install(Azure.Storage.Queues.QueueClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(new PerCall(this), HttpPipelinePosition.PerCall);
        options.AddPolicy(new PerTry(this), HttpPipelinePosition.PerRetry);
    }

    /// <summary>Records into <paramref name="recorder"/> from now on (null: stop recording).</summary>
    public void Attach(SpikeRecorder? recorder) => _recorder = recorder;

    private sealed class CallState
    {
        public int Tries;
        public int Timeouts;
    }

    private sealed class PerCall(QueueCallMeter meter) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
            => throw new NotSupportedException("the bench's queue clients are asynchronous only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var recorder = meter._recorder;
            if (recorder is null)
            {
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                return;
            }
            var state = new CallState();
            meter._current.Value = state;
            var started = Stopwatch.GetTimestamp();
            var failed = true;
            try
            {
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                // a 404 on delete/update (lease gone) or 409 on create is an answer, not a queue failure
                failed = message.Response.Status >= 500;
            }
            finally
            {
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var uri = message.Request.Uri.ToUri();
                recorder.QueueCall(new QueueCall(recorder.Now, QueueCallKind.Of(message.Request.Method.Method, uri), ms,
                    Math.Max(1, state.Tries), state.Timeouts, failed, QueueCall.OperationOf(message.Request.Method.Method, uri)));
                meter._current.Value = null;
            }
        }
    }

    private sealed class PerTry(QueueCallMeter meter) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
            => throw new NotSupportedException("the bench's queue clients are asynchronous only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var state = meter._current.Value;
            if (state is not null)
            {
                Interlocked.Increment(ref state.Tries);
            }
            try
            {
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!message.CancellationToken.IsCancellationRequested)
            {
                // the SDK's network timeout (the caller did not cancel): it retries this try, and the bench counts it
                if (state is not null)
                {
                    Interlocked.Increment(ref state.Timeouts);
                }
                throw;
            }
        }
    }
}
