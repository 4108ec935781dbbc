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
public sealed class RedisProviderRateLimiter : IProviderRateLimiter
{
    private const string PauseScript = """
        local p = redis.call('PTTL', KEYS[1])
        if p < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
        return p
        """;

    private static readonly byte[] PauseScriptSha1 = TokenBucketScript.Hash(PauseScript);

    private readonly IConnectionMultiplexer _redis;
    private readonly RateLimitOptions _options;
    private readonly Dictionary<string, ProviderPlan> _plans;
    private readonly ConcurrentDictionary<(string Provider, string Endpoint), RedisKey[]> _endpointKeys = new();
    private long _scriptReloads;

    public RedisProviderRateLimiter(IConnectionMultiplexer redis, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis;
        _options = options;
        _plans = options.ResolveProviders().ToDictionary(p => p.Key, p => ProviderPlan.Create(options.KeyPrefix, p.Key, p.Value), StringComparer.Ordinal);
    }

    /// <summary>How often the server had lost a script (NOSCRIPT) and it was sent again with EVAL.</summary>
    public long ScriptReloads => Interlocked.Read(ref _scriptReloads);

    /// <inheritdoc />
    public async ValueTask<RateLimitDecision> TryAcquireAsync(string provider, string endpoint, string? scope, int tokens, CancellationToken cancellationToken)
    {
        var plan = Plan(provider);
        if (tokens < 1 || tokens > plan.MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens,
                $"{provider}: an acquire takes 1..{plan.MaxTokens} tokens (the smallest bucket's capacity); more could never be granted.");
        }
        var keys = plan.KeysFor(endpoint, scope, _endpointKeys);
        var args = new RedisValue[plan.LimitArgs.Length + 1];
        args[0] = tokens * TokenBucketMath.NanoTokensPerToken;
        plan.LimitArgs.CopyTo(args, 1);

        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await EvaluateAsync(TokenBucketScript.Source, TokenBucketScript.Sha1, keys, args, provider).ConfigureAwait(false))!;
        var code = (long)result[0];
        var wait = (long)result[1];
        return code switch
        {
            1 => RateLimitDecision.Grant,
            0 => RateLimitDecision.Wait(TimeSpan.FromTicks(checked(wait * 10))),
            _ => throw new InvalidOperationException($"Token bucket script refused the arguments for {provider} bucket {wait} (tokens above capacity)."),
        };
    }

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
        }

        public string Provider { get; }

        public RedisKey PauseKey { get; }

        public RedisValue[] LimitArgs { get; }

        public int MaxTokens { get; }

        public bool UsesScope => _scopes.Contains(BucketScope.Scope);

        // The hash tag {provider} keeps a provider's keys in one cluster slot, as a multi-key script requires.
        public static ProviderPlan Create(string prefix, string provider, ProviderRateLimitOptions options)
            => new(provider, $"{prefix}:{{{provider}}}:", options);

        public RedisKey[] KeysFor(string endpoint, string? scope, ConcurrentDictionary<(string, string), RedisKey[]> cache)
        {
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
