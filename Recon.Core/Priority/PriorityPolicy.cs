namespace Recon.Core.Priority;

/// <summary>Settings of <see cref="PriorityPolicy"/>, bound from <c>Recon:Priority</c>.</summary>
public sealed class PriorityOptions
{
    public const string SectionName = "Recon:Priority";

    /// <summary>Most a threshold may be (10¹² minor units): keeps the policy's squared comparisons inside <see cref="Int128"/>.</summary>
    public const long MaxThresholdMinor = 1_000_000_000_000;

    /// <summary>
    /// Value (minor units) at or above which a batch is high priority (0), per currency. Defaults: 10,000 in each of
    /// the major currencies Recon meets, about $10,000 each; without exchange rates the policy compares within a
    /// currency only, so add a line for every currency you reconcile.
    /// </summary>
    public Dictionary<string, long> HighValueThresholdsMinor { get; set; } = new(StringComparer.Ordinal)
    {
        ["USD"] = 1_000_000,
        ["EUR"] = 1_000_000,
        ["GBP"] = 1_000_000,
        ["CAD"] = 1_400_000,
        ["JPY"] = 1_500_000,
    };

    /// <summary>
    /// Priority of a batch in a currency with no threshold: 1, the top of the low queue. Without a rate the value
    /// cannot be ranked; it should neither pre-empt known high-value work nor sit behind $0.50 jobs.
    /// </summary>
    public int UnlistedCurrencyPriority { get; set; } = 1;
}

/// <summary>
/// Maps a batch's business value to a priority: 0 (high, queue recon-high) at or above the currency's threshold,
/// else 1..10 (recon-low) in half-decade steps below it. Pure: no I/O, no clock.
/// </summary>
/// <remarks>
/// Half-decades (factors of √10) spread real payment values over the ten low levels: with a $10,000 threshold,
/// $3,163–$9,999.99 is 1, $1,000–$3,162 is 2, $316–$999 is 3, … , $0.32–$0.99 is 9 and below that 10. The comparison
/// value² × 10ⁱ ≥ threshold² is done in integers, so a boundary never depends on floating-point rounding.
/// </remarks>
public sealed class PriorityPolicy
{
    public const int High = 0;
    public const int LowestLow = 10;

    private readonly Dictionary<string, long> _thresholds;
    private readonly int _unlisted;

    public PriorityPolicy(PriorityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (currency, threshold) in options.HighValueThresholdsMinor)
        {
            if (threshold < 1 || threshold > PriorityOptions.MaxThresholdMinor)
            {
                throw new InvalidOperationException(
                    $"{PriorityOptions.SectionName}:HighValueThresholdsMinor:{currency} must be 1..{PriorityOptions.MaxThresholdMinor} minor units (was {threshold}).");
            }
        }
        if (options.UnlistedCurrencyPriority is < High or > LowestLow)
        {
            throw new InvalidOperationException($"{PriorityOptions.SectionName}:UnlistedCurrencyPriority must be 0..10 (was {options.UnlistedCurrencyPriority}).");
        }
        _thresholds = new Dictionary<string, long>(options.HighValueThresholdsMinor, StringComparer.OrdinalIgnoreCase);
        _unlisted = options.UnlistedCurrencyPriority;
    }

    /// <summary>0 for high value, 1..10 for the rest (10 the least valuable).</summary>
    /// <param name="valueMinor">The batch's value in minor units, not negative (sum of absolute amounts).</param>
    /// <param name="currency">ISO 4217 code of <paramref name="valueMinor"/>.</param>
    public int PriorityFor(long valueMinor, string currency)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(currency);
        if (valueMinor < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(valueMinor), valueMinor, "A batch's value is a sum of absolute amounts and cannot be negative.");
        }
        if (!_thresholds.TryGetValue(currency, out var threshold))
        {
            return _unlisted;
        }
        if (valueMinor >= threshold)
        {
            return High;
        }
        var value2 = (Int128)valueMinor * valueMinor;
        var threshold2 = (Int128)threshold * threshold;
        Int128 scale = 10;
        for (var level = 1; level < LowestLow; level++, scale *= 10)
        {
            if (value2 * scale >= threshold2)
            {
                return level;
            }
        }
        return LowestLow;
    }

    /// <summary>True for priority 0: the batch goes to recon-high.</summary>
    public static bool IsHigh(int priority) => priority == High;
}
