using Recon.Core.Priority;

namespace Recon.Tests.Priority;

public sealed class GuaranteedShareTests
{
    [Fact]
    public void TenPercent_BothQueuesBusy_OneSlotInTenIsLow()
    {
        var share = new GuaranteedShare(10);
        int high = 0, low = 0;
        for (var round = 0; round < 100; round++)
        {
            var lowSlots = share.LowSlotsOwed(4);
            high += 4 - lowSlots;
            low += lowSlots;
            share.Record(4 - lowSlots, lowSlots, lowWasEmpty: false);
        }
        Assert.Equal(40, low);
        Assert.Equal(360, high);
    }

    [Fact]
    public void Zero_NeverReservesLow()
    {
        var share = new GuaranteedShare(0);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(0, share.LowSlotsOwed(32));
            share.Record(32, 0, lowWasEmpty: false);
        }
    }

    [Fact]
    public void LowEmpty_CreditIsDropped_AndLowOnlyRunsOweNothing()
    {
        var share = new GuaranteedShare(10);
        share.Record(9, 0, lowWasEmpty: true);
        Assert.Equal(0, share.LowSlotsOwed(9));
        share.Record(0, 32, lowWasEmpty: false); // high was empty, low took everything
        Assert.Equal(1, share.LowSlotsOwed(10));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(51)]
    public void OutOfRange_Throws(int percent) => Assert.Throws<ArgumentOutOfRangeException>(() => new GuaranteedShare(percent));
}
