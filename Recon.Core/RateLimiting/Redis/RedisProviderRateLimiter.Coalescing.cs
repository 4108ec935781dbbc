using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Recon.Core.RateLimiting.Redis;

/// <summary>How coalesced acquires went: script calls made, acquires they decided, the largest batch.</summary>
/// <param name="Batches">Calls of <see cref="TokenBucketBatchScript"/> that got an answer or an error.</param>
/// <param name="Acquires">Acquires those calls decided.</param>
/// <param name="LargestBatch">Most acquires one call decided.</param>
public readonly record struct CoalescingStatistics(long Batches, long Acquires, int LargestBatch)
{
    /// <summary>Acquires per script call on average (0 before the first call).</summary>
    public double MeanBatchSize => Batches == 0 ? 0 : (double)Acquires / Batches;
}

public sealed partial class RedisProviderRateLimiter
{
    /// <summary>Totals over every provider; all zero when coalescing is off.</summary>
    public CoalescingStatistics Coalescing
    {
        get
        {
            if (_coalescers is null)
            {
                return default;
            }
            long batches = 0, acquires = 0;
            var largest = 0;
            foreach (var c in _coalescers.Values)
            {
                batches += Interlocked.Read(ref c.Batches);
                acquires += Interlocked.Read(ref c.Acquires);
                largest = Math.Max(largest, Volatile.Read(ref c.LargestBatch));
            }
            return new CoalescingStatistics(batches, acquires, largest);
        }
    }

    /// <summary>An acquire waiting in a provider's queue; it is its own completion source (one allocation per acquire).</summary>
    private sealed class PendingAcquire(RedisKey[] keys, int tokens)
        : TaskCompletionSource<RateLimitDecision>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public RedisKey[] Keys { get; } = keys;

        public int Tokens { get; } = tokens;
    }

    /// <summary>
    /// One provider's queue of acquires. The first acquire while fewer than the allowed calls are on the way goes out
    /// at once (alone if it is alone); acquires that arrive while calls are on the way wait in the queue and leave
    /// together when one comes back. So under load a call carries everything that arrived during the previous round
    /// trip, and at rest nothing waits. All keys of a batch belong to one provider: one hash slot, as EVALSHA needs.
    /// </summary>
    private sealed class Coalescer(RedisProviderRateLimiter owner, ProviderPlan plan, int maxBatchSize, int maxBatchesInFlight)
    {
        private readonly ConcurrentQueue<PendingAcquire> _queue = new();
        private int _inFlight;

        // statistics, read by RedisProviderRateLimiter.Coalescing
        public long Batches;
        public long Acquires;
        public int LargestBatch;

        public Task<RateLimitDecision> AcquireAsync(RedisKey[] keys, int tokens)
        {
            var pending = new PendingAcquire(keys, tokens);
            _queue.Enqueue(pending);
            Pump();
            return pending.Task;
        }

        /// <summary>
        /// Sends queued acquires while a call slot is free. Every enqueue and every finished call ends here, so an
        /// acquire is never stranded: either it finds a free slot, or a call is on the way whose end pumps again.
        /// </summary>
        private void Pump()
        {
            while (!_queue.IsEmpty)
            {
                var inFlight = Volatile.Read(ref _inFlight);
                if (inFlight >= maxBatchesInFlight)
                {
                    return;
                }
                if (Interlocked.CompareExchange(ref _inFlight, inFlight + 1, inFlight) != inFlight)
                {
                    continue;
                }
                var batch = new List<PendingAcquire>(Math.Min(maxBatchSize, Math.Max(1, _queue.Count)));
                while (batch.Count < maxBatchSize && _queue.TryDequeue(out var next))
                {
                    batch.Add(next);
                }
                if (batch.Count == 0)
                {
                    Interlocked.Decrement(ref _inFlight);
                    continue;
                }
                _ = SendAsync(batch);
            }
        }

        private async Task SendAsync(List<PendingAcquire> batch)
        {
            try
            {
                var (keys, args) = Build(batch);
                var result = await owner.EvaluateAsync(TokenBucketBatchScript.Source, TokenBucketBatchScript.Sha1, keys, args, plan.Provider).ConfigureAwait(false);
                if (result.Resp2Type != ResultType.Array || result.Length != batch.Count)
                {
                    throw new InvalidOperationException(
                        $"Token bucket batch script answered {result.Resp2Type} of {result.Length} for {batch.Count} acquires of {plan.Provider}.");
                }
                Interlocked.Increment(ref Batches);
                Interlocked.Add(ref Acquires, batch.Count);
                var largest = Volatile.Read(ref LargestBatch);
                while (batch.Count > largest && Interlocked.CompareExchange(ref LargestBatch, batch.Count, largest) != largest)
                {
                    largest = Volatile.Read(ref LargestBatch);
                }
                for (var i = 0; i < batch.Count; i++)
                {
                    var pending = batch[i];
                    try
                    {
                        pending.TrySetResult(Decision((long)result[i], plan.Provider, pending.Tokens));
                    }
                    catch (InvalidOperationException ex)
                    {
                        pending.TrySetException(ex);
                    }
                }
            }
            catch (Exception ex)
            {
                // the whole call failed (Redis down: RateLimiterUnavailableException): no acquire of it got a token
                foreach (var pending in batch)
                {
                    pending.TrySetException(ex);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                Pump();
            }
        }

        /// <summary>KEYS: pause key, then each distinct bucket key once; ARGV: see <see cref="TokenBucketBatchScript"/>.</summary>
        private (RedisKey[] Keys, RedisValue[] Args) Build(List<PendingAcquire> batch)
        {
            var n = plan.BucketCount;
            // acquires of the same endpoint share one cached key array: map arrays first, keys only for new arrays
            var byArray = new Dictionary<RedisKey[], int[]>(ReferenceEqualityComparer.Instance);
            var byKey = new Dictionary<RedisKey, int>();
            var keys = new List<RedisKey>(n + 2) { plan.PauseKey };
            var limitArgs = new List<RedisValue>(2 * (n + 1));
            var args = new RedisValue[batch.Count * (n + 1)];
            var a = 0;
            foreach (var pending in batch)
            {
                if (!byArray.TryGetValue(pending.Keys, out var numbers))
                {
                    numbers = new int[n];
                    for (var i = 0; i < n; i++)
                    {
                        var key = pending.Keys[i + 1];
                        if (!byKey.TryGetValue(key, out var j))
                        {
                            keys.Add(key);
                            j = keys.Count - 1;
                            byKey.Add(key, j);
                            limitArgs.Add(plan.Limits[i].CapacityNanoTokens);
                            limitArgs.Add(plan.Limits[i].RateMilliTokensPerSecond);
                        }
                        numbers[i] = j;
                    }
                    byArray.Add(pending.Keys, numbers);
                }
                args[a++] = pending.Tokens < plan.NeedArgs.Length ? plan.NeedArgs[pending.Tokens] : pending.Tokens * TokenBucketMath.NanoTokensPerToken;
                for (var i = 0; i < n; i++)
                {
                    args[a++] = numbers[i];
                }
            }
            var all = new RedisValue[1 + limitArgs.Count + args.Length];
            all[0] = n;
            limitArgs.CopyTo(all, 1);
            args.CopyTo(all, 1 + limitArgs.Count);
            return ([.. keys], all);
        }
    }
}
