using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Recon.Core.RateLimiting.Redis;

/// <summary>
/// <see cref="IProviderRateLimiter"/> over Redis: every acquire is one EVALSHA of <see cref="TokenBucketScript"/>
/// across the provider's buckets and its pause key, so all workers share one view and one clock (Redis TIME).
/// </summary>
/// <remarks>
/// The script is called by SHA; after a <c>SCRIPT FLUSH</c> or a Redis restart the server answers NOSCRIPT and the
/// call is repeated once with EVAL, which also caches the script again. Connection failures and timeouts become
/// <see cref="RateLimiterUnavailableException"/>: no token, no provider call. The multiplexer reconnects by itself
/// (<see cref="RedisConnectionFactory"/>), so nothing needs a restart when Redis comes back.
/// </remarks>
public sealed partial class RedisProviderRateLimiter : IProviderRateLimiter
{
    /// <summary>Stores when the pause ends (Redis TIME, µs), expiring then; only ever moves the end later.</summary>
    private const string PauseScript = """
        local t = redis.call('TIME')
        local pause_end = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1]) * 1000
        local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        if pause_end > current then
          redis.call('SET', KEYS[1], string.format('%d', pause_end), 'PX', ARGV[1])
        end
        return 0
        """;

    private static readonly byte[] PauseScriptSha1 = TokenBucketScript.Hash(PauseScript);

    private readonly IConnectionMultiplexer _redis;
    private readonly RateLimitOptions _options;
    private readonly Dictionary<string, ProviderPlan> _plans;
    private readonly ConcurrentDictionary<(string Provider, string Endpoint), RedisKey[]> _endpointKeys = new();
    private readonly Dictionary<string, Coalescer>? _coalescers;
    private long _scriptReloads;

    public RedisProviderRateLimiter(IConnectionMultiplexer redis, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis;
        _options = options;
        _plans = options.ResolveProviders().ToDictionary(p => p.Key, p => ProviderPlan.Create(options.KeyPrefix, p.Key, p.Value), StringComparer.Ordinal);
        var coalescing = options.Coalescing ?? new AcquireCoalescingOptions();
        if (coalescing.Enabled)
        {
            if (coalescing.MaxBatchSize is < 1 or > AcquireCoalescingOptions.MaxBatchSizeLimit || coalescing.MaxBatchesInFlight < 1)
            {
                throw new InvalidOperationException(
                    $"{RateLimitOptions.SectionName}:Coalescing: MaxBatchSize ({coalescing.MaxBatchSize}) must be 1..{AcquireCoalescingOptions.MaxBatchSizeLimit} " +
                    $"and MaxBatchesInFlight ({coalescing.MaxBatchesInFlight}) at least 1.");
            }
            _coalescers = _plans.ToDictionary(p => p.Key, p => new Coalescer(this, p.Value, coalescing.MaxBatchSize, coalescing.MaxBatchesInFlight), StringComparer.Ordinal);
        }
    }

    /// <summary>How often the server had lost a script (NOSCRIPT) and it was sent again with EVAL.</summary>
    public long ScriptReloads => Interlocked.Read(ref _scriptReloads);

    /// <inheritdoc />
    public ValueTask<RateLimitDecision> TryAcquireAsync(string provider, string endpoint, string? scope, int tokens, CancellationToken cancellationToken)
    {
        var plan = Plan(provider);
        if (tokens < 1 || tokens > plan.MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens,
                $"{provider}: an acquire takes 1..{plan.MaxTokens} tokens (the smallest bucket's capacity); more could never be granted.");
        }
        var keys = plan.KeysFor(endpoint, scope, _endpointKeys);
        cancellationToken.ThrowIfCancellationRequested();
        if (_coalescers is not null)
        {
            // once queued the acquire is decided with its batch, as a single call already sent cannot be recalled
            return new ValueTask<RateLimitDecision>(_coalescers[provider].AcquireAsync(keys, tokens));
        }
        return AcquireOneAsync(plan, keys, tokens);
    }

    private async ValueTask<RateLimitDecision> AcquireOneAsync(ProviderPlan plan, RedisKey[] keys, int tokens)
    {
        var answer = (long)await EvaluateAsync(TokenBucketScript.Source, TokenBucketScript.Sha1, keys, plan.ArgsFor(tokens), plan.Provider).ConfigureAwait(false);
        return Decision(answer, plan.Provider, tokens);
    }

    private static RateLimitDecision Decision(long answer, string provider, int tokens) => answer switch
    {
        0 => RateLimitDecision.Grant,
        > 0 => RateLimitDecision.Wait(TimeSpan.FromTicks(checked(answer * 10))),
        _ => throw new InvalidOperationException($"Token bucket script refused the arguments for {provider}: bucket {-answer} holds fewer than {tokens} tokens."),
    };

    /// <inheritdoc />
    public async ValueTask PauseAsync(string provider, TimeSpan duration, CancellationToken cancellationToken)
    {
        var plan = Plan(provider);
        var pause = duration > TimeSpan.Zero ? duration : _options.DefaultPause;
        if (pause > _options.MaxPause)
        {
            pause = _options.MaxPause;
        }
        var millis = Math.Max(1L, (long)Math.Ceiling(pause.TotalMilliseconds));
        cancellationToken.ThrowIfCancellationRequested();
        // only ever lengthens a pause: a short Retry-After from one worker must not cut another's longer one
        await EvaluateAsync(PauseScript, PauseScriptSha1, [plan.PauseKey], [millis], provider).ConfigureAwait(false);
    }

    private ProviderPlan Plan(string provider)
        => _plans.TryGetValue(provider, out var plan)
            ? plan
            : throw new ArgumentException(
                $"No rate limits for provider '{provider}': add it under {RateLimitOptions.SectionName}:Providers (known: {string.Join(", ", _plans.Keys.Order(StringComparer.Ordinal))}).",
                nameof(provider));

    private async Task<RedisResult> EvaluateAsync(string source, byte[] sha1, RedisKey[] keys, RedisValue[] args, string provider)
    {
        var db = _redis.GetDatabase();
        try
        {
            try
            {
                return await db.ScriptEvaluateAsync(sha1, keys, args).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _scriptReloads);
                return await db.ScriptEvaluateAsync(source, keys, args).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            throw new RateLimiterUnavailableException(
                $"Rate limiter unavailable: Redis ({string.Join(", ", _redis.GetEndPoints().Select(e => e.ToString()))}) did not answer " +
                $"({ex.GetType().Name}: {ex.Message}). No call to {provider} is made without a token (fail closed); retry when Redis is back.", ex);
        }
    }

    /// <summary>The keys and limit arguments of one provider, computed once.</summary>
    private sealed class ProviderPlan
    {
        private readonly string _keyBase;
        private readonly BucketScope[] _scopes;
        private readonly string[] _names;
        private readonly RedisKey?[] _fixedKeys;
        private readonly RedisValue[]?[] _argsByTokens;

        private ProviderPlan(string provider, string keyBase, ProviderRateLimitOptions options)
        {
            if (options.Buckets.Count == 0)
            {
                throw new InvalidOperationException($"{RateLimitOptions.SectionName}:Providers:{provider} has no buckets.");
            }
            Provider = provider;
            _keyBase = keyBase;
            PauseKey = keyBase + "pause";
            _scopes = [.. options.Buckets.Select(b => b.Scope)];
            _names = [.. options.Buckets.Select(b => b.Name)];
            foreach (var name in _names)
            {
                if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                {
                    throw new InvalidOperationException(
                        $"{RateLimitOptions.SectionName}:Providers:{provider}: bucket name '{name}' must be letters, digits, '-' or '_'.");
                }
            }
            var limits = options.Buckets.Select(b => b.ToLimit(provider)).ToArray();
            LimitArgs = [.. limits.SelectMany(l => new RedisValue[] { l.CapacityNanoTokens, l.RateMilliTokensPerSecond })];
            MaxTokens = (int)(limits.Min(l => l.CapacityNanoTokens) / TokenBucketMath.NanoTokensPerToken);
            _fixedKeys = [.. _scopes.Select((s, i) => s == BucketScope.Provider ? (RedisKey?)(keyBase + _names[i]) : null)];
            Limits = limits;
            UsesScope = _scopes.Contains(BucketScope.Scope);
            NeedArgs = [.. Enumerable.Range(0, Math.Min(MaxTokens, MaxCachedTokenCounts) + 1).Select(t => (RedisValue)(t * TokenBucketMath.NanoTokensPerToken))];
            _argsByTokens = new RedisValue[]?[NeedArgs.Length];
        }

        // acquires almost always take one token; a few more counts are cached, larger ones are built per call
        private const int MaxCachedTokenCounts = 16;

        public TokenBucketLimit[] Limits { get; }

        /// <summary>The "nano-tokens to take" argument for 0..16 tokens, built once.</summary>
        public RedisValue[] NeedArgs { get; }

        public int BucketCount => _scopes.Length;

        /// <summary>The single script's ARGV for <paramref name="tokens"/>: built once per token count and reused
        /// (StackExchange.Redis only reads it).</summary>
        public RedisValue[] ArgsFor(int tokens)
        {
            if (tokens < _argsByTokens.Length && Volatile.Read(ref _argsByTokens[tokens]) is { } cached)
            {
                return cached;
            }
            var args = new RedisValue[LimitArgs.Length + 1];
            args[0] = tokens * TokenBucketMath.NanoTokensPerToken;
            LimitArgs.CopyTo(args, 1);
            if (tokens < _argsByTokens.Length)
            {
                Volatile.Write(ref _argsByTokens[tokens], args);
            }
            return args;
        }

        public string Provider { get; }

        public RedisKey PauseKey { get; }

        public RedisValue[] LimitArgs { get; }

        public int MaxTokens { get; }

        public bool UsesScope { get; }

        // The hash tag {provider} keeps a provider's keys in one cluster slot, as a multi-key script requires.
        public static ProviderPlan Create(string prefix, string provider, ProviderRateLimitOptions options)
            => new(provider, $"{prefix}:{{{provider}}}:", options);

        public RedisKey[] KeysFor(string endpoint, string? scope, ConcurrentDictionary<(string, string), RedisKey[]> cache)
        {
            if (!UsesScope && cache.TryGetValue((Provider, endpoint), out var known))
            {
                return known;
            }
            if (_scopes.Contains(BucketScope.Endpoint) && string.IsNullOrEmpty(endpoint))
            {
                throw new ArgumentException($"{Provider} counts calls per endpoint: name the endpoint.", nameof(endpoint));
            }
            if (!UsesScope)
            {
                // bounded: one entry per endpoint Recon calls
                return cache.GetOrAdd((Provider, endpoint), static (k, plan) => plan.Build(k.Item2, null), this);
            }
            if (string.IsNullOrEmpty(scope))
            {
                throw new ArgumentException($"{Provider} counts calls per scope (e.g. the Plaid item): pass the scope.", nameof(scope));
            }
            return Build(endpoint, scope);
        }

        private RedisKey[] Build(string endpoint, string? scope)
        {
            var keys = new RedisKey[_scopes.Length + 1];
            keys[0] = PauseKey;
            for (var i = 0; i < _scopes.Length; i++)
            {
                keys[i + 1] = _scopes[i] switch
                {
                    BucketScope.Provider => _fixedKeys[i]!.Value,
                    BucketScope.Endpoint => $"{_keyBase}{_names[i]}:{endpoint}",
                    _ => $"{_keyBase}{_names[i]}:{scope}",
                };
            }
            return keys;
        }
    }
}
