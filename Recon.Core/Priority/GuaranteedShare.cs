namespace Recon.Core.Priority;

/// <summary>
/// Decides how many of the next dequeued messages must come from the low queue so it never starves while the high
/// queue stays busy. Pure state, no I/O: one instance per dequeuer.
/// </summary>
/// <remarks>
/// Every delivered message earns the low queue <c>percent</c> credits; a low delivery spends 100. When the low queue
/// is found empty its credit is dropped (nobody was waiting), and credit never goes negative (low that ran while
/// high was empty owes nothing). With 10%, one message in ten is low as long as both queues hold work.
/// </remarks>
public sealed class GuaranteedShare
{
    private const int CreditPerSlot = 100;
    private readonly int _percent;
    private int _credit;

    /// <param name="percent">0 (strictly high first) to 50 (at most half the slots for low).</param>
    public GuaranteedShare(int percent)
    {
        if (percent is < 0 or > 50)
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "The guaranteed low share is 0..50 percent.");
        }
        _percent = percent;
    }

    public int Percent => _percent;

    /// <summary>Slots of the next <paramref name="slots"/> that are reserved for low.</summary>
    public int LowSlotsOwed(int slots) => Math.Min(slots, (_credit + (_percent * slots)) / CreditPerSlot);

    /// <summary>Books what a dequeue delivered.</summary>
    /// <param name="high">Messages delivered from high.</param>
    /// <param name="low">Messages delivered from low.</param>
    /// <param name="lowWasEmpty">The low queue gave fewer than asked.</param>
    public void Record(int high, int low, bool lowWasEmpty)
    {
        _credit = lowWasEmpty ? 0 : Math.Max(0, _credit + (_percent * (high + low)) - (CreditPerSlot * low));
    }
}
