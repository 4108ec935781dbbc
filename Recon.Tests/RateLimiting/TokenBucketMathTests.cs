using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Recon.Core.RateLimiting;

namespace Recon.Tests.RateLimiting;

public sealed class TokenBucketMathTests
{
    [Theory]
    [MemberData(nameof(TokenBucketVectors.Names), MemberType = typeof(TokenBucketVectors))]
    public void Model_Vector_AnswersAsWorkedOutByHand(string name)
    {
        var vector = TokenBucketVectors.Get(name);
        var states = new TokenBucketState?[vector.Limits.Length];
        foreach (var (step, i) in vector.Steps.Select((s, i) => (s, i)))
        {
            var before = states.ToArray();
            var outcome = TokenBucketMath.Acquire(vector.Limits, states, step.NowMicros, step.Tokens);
            Assert.True(new TokenBucketOutcome(step.Granted, step.WaitMicros) == outcome, $"step {i}: expected {step}, got {outcome}");
            if (!outcome.Granted)
            {
                Assert.Equal(before, states); // all or nothing
            }
        }
    }

    [Fact]
    public void Acquire_MoreThanCapacity_ThrowsInsteadOfWaitingForever()
    {
        var states = new TokenBucketState?[1];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TokenBucketMath.Acquire([TokenBucketLimit.Create(5, 1m)], states, 0, 6));
        Assert.Contains("could never be granted", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0.0001)]
    [InlineData(1_000_001, 1)]
    [InlineData(1, 1_000_001)]
    public void CreateLimit_OutOfRange_Throws(int capacity, double rate)
        => Assert.Throws<ArgumentOutOfRangeException>(() => TokenBucketLimit.Create(capacity, (decimal)rate));

    [Fact]
    public void AcquireTokens_BucketEmpty_ReturnsWaitInsteadOfThrowing()
    {
        var limits = new[] { TokenBucketLimit.Create(1, 2m) };
        var states = new TokenBucketState?[1];
        Assert.True(TokenBucketMath.Acquire(limits, states, 0, 1).Granted);
        var refused = TokenBucketMath.Acquire(limits, states, 0, 1);
        Assert.False(refused.Granted);
        Assert.Equal(TimeSpan.FromMilliseconds(500), refused.Wait);
    }

    [Fact]
    public void Acquire_Paused_WaitsForThePauseEvenWithTokens()
    {
        var states = new TokenBucketState?[1];
        var outcome = TokenBucketMath.Acquire([TokenBucketLimit.Create(5, 1m)], states, 0, 1, pausedForMicros: 700_000);
        Assert.Equal(new TokenBucketOutcome(false, 700_000), outcome);
        Assert.Null(states[0]);
    }

    /// <summary>The invariant: over any run, admitted ≤ capacity + rate × elapsed, for every bucket of a hierarchy.</summary>
    [Property(MaxTest = 300)]
    public bool Model_NeverAdmitsMoreThanCapacityPlusRateTimesElapsed(
        PositiveInt capacity1, PositiveInt rate1, PositiveInt capacity2, PositiveInt rate2, NonNegativeInt[] gaps, PositiveInt[] sizes)
    {
        var limits = new[]
        {
            TokenBucketLimit.Create(1 + (capacity1.Get % 200), (1 + (rate1.Get % 500_000)) / 1000m),
            TokenBucketLimit.Create(1 + (capacity2.Get % 200), (1 + (rate2.Get % 500_000)) / 1000m),
        };
        var maxTokens = (int)(limits.Min(l => l.CapacityNanoTokens) / TokenBucketMath.NanoTokensPerToken);
        var states = new TokenBucketState?[2];
        var start = 1_700_000_000_000_000L;
        var now = start;
        long admittedNano = 0;
        for (var i = 0; i < Math.Min(gaps.Length, sizes.Length); i++)
        {
            now += gaps[i].Get % 50_000;
            var tokens = 1 + (sizes[i].Get % maxTokens);
            if (TokenBucketMath.Acquire(limits, states, now, tokens).Granted)
            {
                admittedNano += tokens * TokenBucketMath.NanoTokensPerToken;
            }
        }
        var elapsed = now - start;
        return limits.All(l => admittedNano <= l.CapacityNanoTokens + (l.RateMilliTokensPerSecond * elapsed));
    }

    /// <summary>The wait is exact: one microsecond earlier is refused, at the wait it is granted.</summary>
    [Property(MaxTest = 300)]
    public Property Model_WaitIsExact(PositiveInt capacity, PositiveInt rate, PositiveInt drained, NonNegativeInt later)
    {
        var limit = TokenBucketLimit.Create(1 + (capacity.Get % 100), (1 + (rate.Get % 1_000_000)) / 1000m);
        var cap = (int)(limit.CapacityNanoTokens / TokenBucketMath.NanoTokensPerToken);
        var states = new TokenBucketState?[1];
        var t = 1_000_000_000L;
        TokenBucketMath.Acquire([limit], states, t, cap);
        t += later.Get % 10_000_000;
        var tokens = 1 + (drained.Get % cap);
        var first = TokenBucketMath.Acquire([limit], states, t, tokens);
        if (first.Granted)
        {
            return true.ToProperty();
        }
        var copy = states.ToArray();
        var early = TokenBucketMath.Acquire([limit], copy, t + first.WaitMicros - 1, tokens);
        var onTime = TokenBucketMath.Acquire([limit], states, t + first.WaitMicros, tokens);
        return (!early.Granted && onTime.Granted).Label($"wait {first.WaitMicros}: early {early}, on time {onTime}");
    }
}
