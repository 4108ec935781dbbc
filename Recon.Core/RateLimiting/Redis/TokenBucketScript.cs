using System.Security.Cryptography;
using System.Text;

namespace Recon.Core.RateLimiting.Redis;

/// <summary>
/// The Lua translation of <see cref="TokenBucketMath.Acquire"/>: one atomic script checks and takes from every bucket
/// of an acquire, with time from Redis <c>TIME</c>.
/// </summary>
/// <remarks>
/// Layout: <c>KEYS[1]</c> the provider's pause key (value: Redis TIME in µs when the pause ends), <c>KEYS[2..n+1]</c> the buckets, each a string
/// <c>level:updated</c> (nano-tokens, µs) written with <c>SET ... PX</c> — one command writes value and TTL, which
/// measured ~10% more acquires/s than a hash plus PEXPIRE; all keys are read with one MGET; <c>ARGV[1]</c> nano-tokens to take, then capacity (nano-tokens) and rate
/// (milli-tokens/s) per bucket. Returns one integer, the cheapest reply to build and parse: 0 granted, n &gt; 0 the wait in µs, −i when bucket i
/// can never hold the tokens asked for. Lua numbers are doubles: every value is
/// kept below 2⁵³ and divisions go through <c>idiv</c>, which corrects the double quotient to the exact integer one, so
/// the script and the C# model agree to the microsecond. Numbers are written with <c>%d</c> because Lua's default
/// formatting turns 10¹⁵ into <c>1e+15</c>.
/// </remarks>
public static class TokenBucketScript
{
    /// <summary>Exact integer division in Lua (whose numbers are doubles), shared by the single and the batched script.</summary>
    internal const string IntegerMath = """
        local function idiv(a, b)
          local q = math.floor(a / b)
          if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
          return q
        end
        local function ceildiv(a, b) return idiv(a + b - 1, b) end

        """;

    private const string Core = IntegerMath + """
        local function acquire(now)
          local need = tonumber(ARGV[1])
          local n = #KEYS - 1
          local wait = 0
          local stored = redis.call('MGET', unpack(KEYS))
          if stored[1] then
            local paused = tonumber(stored[1]) - now
            if paused > 0 then wait = paused end
          end
          local levels = {}
          for i = 1, n do
            local cap = tonumber(ARGV[2 * i])
            local rate = tonumber(ARGV[2 * i + 1])
            if need > cap then return -i end
            local s = stored[i + 1]
            local level = cap
            if s then
              local sep = string.find(s, ':', 1, true)
              level = math.min(tonumber(string.sub(s, 1, sep - 1)), cap)
              local elapsed = math.max(0, now - tonumber(string.sub(s, sep + 1)))
              if elapsed >= ceildiv(cap - level, rate) then level = cap else level = level + elapsed * rate end
            end
            levels[i] = level
            if level < need then wait = math.max(wait, ceildiv(need - level, rate)) end
          end
          if wait > 0 then return wait end
          for i = 1, n do
            local cap = tonumber(ARGV[2 * i])
            local rate = tonumber(ARGV[2 * i + 1])
            local left = levels[i] - need
            local ttl = ceildiv(ceildiv(cap - left, rate), 1000) + 1000
            redis.call('SET', KEYS[i + 1], string.format('%d:%d', left, now), 'PX', string.format('%d', ttl))
          end
          return 0
        end

        """;

    /// <summary>The production script: time from Redis <c>TIME</c>, never from the client.</summary>
    public static string Source { get; } = Core + """
        local t = redis.call('TIME')
        return acquire(tonumber(t[1]) * 1000000 + tonumber(t[2]))
        """;

    /// <summary>
    /// The same arithmetic with the clock as the last ARGV, for the test vectors only: it lets the test table drive
    /// time while real Redis runs the real Lua. Recon never sends this script.
    /// </summary>
    public static string SourceWithClientClockForTests { get; } = WithTestTtlSlack(Core) + """
        local now = tonumber(table.remove(ARGV))
        return acquire(now)
        """;

    /// <summary>
    /// The test variants run on a client clock, so a key's real-time TTL (time to refill + 1 s) says nothing about the
    /// synthetic instants; a test machine stalled for a second would expire state the model still holds. The variants
    /// keep 10 minutes of slack instead of 1 s; the production source is unchanged.
    /// </summary>
    internal static string WithTestTtlSlack(string core)
    {
        const string slack = ", 1000) + 1000";
        return core.Contains(slack, StringComparison.Ordinal)
            ? core.Replace(slack, ", 1000) + 600000", StringComparison.Ordinal)
            : throw new InvalidOperationException("the token bucket script's TTL slack moved; update WithTestTtlSlack");
    }

    /// <summary>SHA-1 of <see cref="Source"/>: the name Redis gives the script for EVALSHA.</summary>
    public static byte[] Sha1 { get; } = Hash(Source);

    /// <summary>SHA-1 as Redis reports it (lower-case hex).</summary>
    public static string Sha1Hex { get; } = Convert.ToHexStringLower(Sha1);

    // SHA-1 is how Redis names scripts, not a security measure.
#pragma warning disable CA5350
    internal static byte[] Hash(string source) => SHA1.HashData(Encoding.UTF8.GetBytes(source));
#pragma warning restore CA5350
}
