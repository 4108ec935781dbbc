using Recon.Core.Priority;

namespace Recon.Tests.Priority;

public sealed class PriorityPolicyTests
{
    private readonly PriorityPolicy _policy = new(new PriorityOptions());

    [Theory]
    [InlineData(1_000_000, 0)]          // $10,000.00: the threshold itself is high
    [InlineData(5_000_000_00, 0)]       // a $5,000,000 wire
    [InlineData(999_999, 1)]            // $9,999.99
    [InlineData(316_228, 1)]            // $3,162.28 ≥ 10,000 / √10
    [InlineData(316_227, 2)]            // just below
    [InlineData(100_000, 2)]            // $1,000
    [InlineData(99_999, 3)]
    [InlineData(10_000, 4)]             // $100
    [InlineData(1_000, 6)]              // $10
    [InlineData(100, 8)]                // $1
    [InlineData(50, 9)]                 // $0.50
    [InlineData(31, 10)]                // $0.31 < 10,000 / 10^4.5
    [InlineData(0, 10)]
    public void PriorityFor_Usd_HighAtThresholdAndHalfDecadesBelow(long valueMinor, int expected)
        => Assert.Equal(expected, _policy.PriorityFor(valueMinor, "USD"));

    [Fact]
    public void PriorityFor_IsMonotonic_MoreValueNeverLowerPriority()
    {
        var previous = PriorityPolicy.LowestLow;
        for (long v = 0; v <= 2_000_000; v += 997)
        {
            var p = _policy.PriorityFor(v, "USD");
            Assert.InRange(p, 0, 10);
            Assert.True(p <= previous, $"value {v} got {p}, a smaller value got {previous}");
            previous = p;
        }
    }

    [Fact]
    public void PriorityFor_ThresholdIsConfigurable_PerCurrency()
    {
        var policy = new PriorityPolicy(new PriorityOptions { HighValueThresholdsMinor = { ["USD"] = 50_000 } });
        Assert.Equal(0, policy.PriorityFor(50_000, "USD"));
        Assert.Equal(1, policy.PriorityFor(49_999, "usd"));
        Assert.Equal(0, policy.PriorityFor(1_000_000, "EUR"));
    }

    [Fact]
    public void PriorityFor_UnlistedCurrency_GetsTheConfiguredPriority()
    {
        Assert.Equal(1, _policy.PriorityFor(5, "CHF"));
        Assert.Equal(7, new PriorityPolicy(new PriorityOptions { UnlistedCurrencyPriority = 7 }).PriorityFor(5_000_000_00, "CHF"));
    }

    [Fact]
    public void PriorityFor_NegativeValue_Throws()
        => Assert.Throws<ArgumentOutOfRangeException>(() => _policy.PriorityFor(-1, "USD"));

    [Fact]
    public void Options_BadThreshold_RefusedWithTheSettingName()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new PriorityPolicy(new PriorityOptions { HighValueThresholdsMinor = { ["USD"] = 0 } }));
        Assert.Contains("Recon:Priority:HighValueThresholdsMinor:USD", ex.Message, StringComparison.Ordinal);
    }
}
