namespace Recon.Core.RateLimiting.Redis;

/// <summary>
/// The batched form of <see cref="TokenBucketScript"/>: one atomic script decides N acquires of one provider, in the
/// order given, each all or nothing across its buckets, with one Redis <c>TIME</c> for the whole batch. N acquires
/// decided at the same instant one after another answer exactly what N calls of the single script at that instant
/// would; the batch only saves the per-call cost (one EVALSHA, one TIME, one MGET, one SET per bucket touched).
/// </summary>
/// <remarks>
/// Layout: <c>KEYS[1]</c> the provider's pause key, <c>KEYS[2..m+1]</c> the distinct bucket keys the batch touches
/// (all of one provider, so one cluster slot). <c>ARGV[1]</c> n, the buckets per acquire (the provider's bucket
/// count); <c>ARGV[2j], ARGV[2j+1]</c> capacity (nano-tokens) and rate (milli-tokens/s) of bucket key j; then per
/// acquire n + 1 values: nano-tokens to take, then the n bucket key numbers j (1..m) in the provider's bucket order.
/// Returns one integer per acquire, as the single script does: 0 granted, w &gt; 0 the wait in µs, −i when bucket i
/// can never hold the tokens asked for. Every key is read once and every bucket that granted is written once, with
/// its TTL, at the end. Same integer arithmetic as the single script (values below 2⁵³, <c>idiv</c>-corrected).
/// </remarks>
public static class TokenBucketBatchScript
{
    private const string Core = TokenBucketScript.IntegerMath + """
        local function decide(now, last)
          local m = #KEYS - 1
          local n = tonumber(ARGV[1])
          local stored = redis.call('MGET', unpack(KEYS))
          local paused = 0
          if stored[1] then
            paused = tonumber(stored[1]) - now
            if paused < 0 then paused = 0 end
          end
          local cap, rate, level, taken = {}, {}, {}, {}
          for j = 1, m do
            local c = tonumber(ARGV[2 * j])
            local r = tonumber(ARGV[2 * j + 1])
            cap[j] = c
            rate[j] = r
            local l = c
            local s = stored[j + 1]
            if s then
              local sep = string.find(s, ':', 1, true)
              l = math.min(tonumber(string.sub(s, 1, sep - 1)), c)
              local elapsed = math.max(0, now - tonumber(string.sub(s, sep + 1)))
              if elapsed >= ceildiv(c - l, r) then l = c else l = l + elapsed * r end
            end
            level[j] = l
          end
          local out = {}
          local q = 0
          local a = 2 * m + 2
          while a <= last do
            q = q + 1
            local need = tonumber(ARGV[a])
            local wait = paused
            local answer = nil
            for i = 1, n do
              local j = tonumber(ARGV[a + i])
              if need > cap[j] then answer = -i break end
              local l = level[j]
              if l < need then
                local w = ceildiv(need - l, rate[j])
                if w > wait then wait = w end
              end
            end
            if answer == nil then
              if wait > 0 then
                answer = wait
              else
                for i = 1, n do
                  local j = tonumber(ARGV[a + i])
                  level[j] = level[j] - need
                  taken[j] = true
                end
                answer = 0
              end
            end
            out[q] = answer
            a = a + n + 1
          end
          for j = 1, m do
            if taken[j] then
              local left = level[j]
              local ttl = ceildiv(ceildiv(cap[j] - left, rate[j]), 1000) + 1000
              redis.call('SET', KEYS[j + 1], string.format('%d:%d', left, now), 'PX', string.format('%d', ttl))
            end
          end
          return out
        end

        """;

    /// <summary>The production script: time from Redis <c>TIME</c>, never from the client.</summary>
    public static string Source { get; } = Core + """
        local t = redis.call('TIME')
        return decide(tonumber(t[1]) * 1000000 + tonumber(t[2]), #ARGV)
        """;

    /// <summary>
    /// The same arithmetic with the clock as the last ARGV, for the test vectors only (lets a test drive time while
    /// real Redis runs the real Lua). Recon never sends this script.
    /// </summary>
    public static string SourceWithClientClockForTests { get; } = TokenBucketScript.WithTestTtlSlack(Core) + """
        return decide(tonumber(ARGV[#ARGV]), #ARGV - 1)
        """;

    /// <summary>SHA-1 of <see cref="Source"/>: the name Redis gives the script for EVALSHA.</summary>
    public static byte[] Sha1 { get; } = TokenBucketScript.Hash(Source);
}
