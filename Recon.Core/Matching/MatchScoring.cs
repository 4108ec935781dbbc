namespace Recon.Core.Matching;

/// <summary>Score components and calendar arithmetic shared by the matcher and its tests.</summary>
public static class MatchScoring
{
    /// <summary>Ledger external reference equals the provider id, or the end-to-end id equals the ledger reference.</summary>
    public const int KeyExact = 650;

    /// <summary>Bank reference equals ledger reference (banks reuse their references more than payers do).</summary>
    public const int KeyReference = 620;

    /// <summary>One typo from a ledger reference.</summary>
    public const int KeyFuzzy = 580;

    /// <summary>Two adjacent characters swapped in a reference of at least <see cref="MinTransposedLength"/> characters.</summary>
    /// <remarks>A swap keeps every character of the reference; in a long random reference the chance that another
    /// reference is one swap away is far smaller than for a substitution, so it scores between a typo and a bank reference.</remarks>
    public const int KeyTransposed = 610;

    /// <summary>Shortest reference whose adjacent swap counts as <see cref="KeyTransposed"/> (shorter ones are plain typos).</summary>
    public const int MinTransposedLength = 10;

    /// <summary>Every token of the ledger counterparty appears in the payment's description.</summary>
    /// <remarks>With an equal amount (250), the same day (100) and a unique amount (200) this reaches 900 exactly:
    /// a payment without a reference is confirmed only when all four agree.</remarks>
    public const int CounterpartyFull = 350;

    /// <summary>Most a shared ledger description can add (descriptions are generic: "invoice", "payment").</summary>
    public const int DescriptionMax = 100;

    /// <summary>The only ledger entry in the currency within the amount tolerance over the whole date window.</summary>
    public const int UniqueAmount = 200;

    /// <summary>An N:1 or 1:N group under one exact shared reference whose amounts add up exactly.</summary>
    public const int GroupExactSum = 100;

    /// <summary>The most a score can be, whatever the parts add up to.</summary>
    public const int MaxScore = 1000;

    /// <summary>Amounts equal.</summary>
    public const int AmountExact = 250;

    /// <summary>Best and worst score of an amount inside the tolerance but not equal.</summary>
    public const int AmountWithinMax = 240;

    /// <summary>Score at the edge of the tolerance.</summary>
    public const int AmountWithinMin = 180;

    /// <summary>Same value date.</summary>
    public const int DateSame = 100;

    /// <summary>Score at the edge of the window.</summary>
    public const int DateEdge = 40;

    /// <summary>Amount component for a difference within tolerance.</summary>
    public static int AmountScore(long differenceMinor, long toleranceMinor)
    {
        var d = Math.Abs(differenceMinor);
        if (d == 0)
        {
            return AmountExact;
        }
        if (d > toleranceMinor)
        {
            return 0;
        }
        const int Range = AmountWithinMax - AmountWithinMin;
        // long arithmetic when the product fits (always, for real amounts); Int128 only for the extreme ones
        return d <= long.MaxValue / Range
            ? AmountWithinMax - (int)(Range * d / toleranceMinor)
            : AmountWithinMax - (int)(Range * (Int128)d / toleranceMinor);
    }

    /// <summary>Date component for a distance within the window (0 outside).</summary>
    public static int DateScore(int days, int windowDays)
    {
        if (days > windowDays)
        {
            return 0;
        }
        return windowDays == 0 ? DateSame : DateSame - ((DateSame - DateEdge) * days / windowDays);
    }

    /// <summary>Days between two dates; with <paramref name="businessDays"/> only Monday..Friday in (earlier, later] count.</summary>
    public static int DayDistance(DateOnly a, DateOnly b, bool businessDays)
    {
        var x = a.DayNumber;
        var y = b.DayNumber;
        if (x > y)
        {
            (x, y) = (y, x);
        }
        var n = y - x;
        if (!businessDays || n == 0)
        {
            return n;
        }
        var weeks = n / 7;
        var count = weeks * 5;
        // DayNumber 0 (0001-01-01) is a Monday, so DayNumber % 7 is 0..4 on weekdays.
        for (var d = x + (weeks * 7) + 1; d <= y; d++)
        {
            if (d % 7 < 5)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Calendar days that can hold <paramref name="windowDays"/> business days (weekends added back).</summary>
    public static int CalendarSpan(int windowDays, bool businessDays)
        => businessDays ? windowDays + (2 * ((windowDays + 4) / 5)) : windowDays;

    /// <summary>True when <paramref name="a"/> becomes <paramref name="b"/> by swapping exactly two adjacent (different) characters.</summary>
    public static bool IsTransposition(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        var i = 0;
        while (i < a.Length && a[i] == b[i])
        {
            i++;
        }
        return i + 1 < a.Length && a[i] == b[i + 1] && a[i + 1] == b[i]
            && string.CompareOrdinal(a, i + 2, b, i + 2, a.Length - i - 2) == 0;
    }

    /// <summary>True when <paramref name="a"/> becomes <paramref name="b"/> by one substitution, insertion, deletion or adjacent swap.</summary>
    public static bool WithinOneEdit(string a, string b)
    {
        var la = a.Length;
        var lb = b.Length;
        if (Math.Abs(la - lb) > 1)
        {
            return false;
        }
        var i = 0;
        while (i < la && i < lb && a[i] == b[i])
        {
            i++;
        }
        if (i == la && i == lb)
        {
            return false; // equal is not a typo; the exact key covers it
        }
        if (la == lb)
        {
            // substitution: rest equal after i; transposition: a[i..i+1] swapped
            if (string.CompareOrdinal(a, i + 1, b, i + 1, la - i - 1) == 0)
            {
                return true;
            }
            return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i]
                && string.CompareOrdinal(a, i + 2, b, i + 2, la - i - 2) == 0;
        }
        return la > lb
            ? string.CompareOrdinal(a, i + 1, b, i, lb - i) == 0
            : string.CompareOrdinal(a, i, b, i + 1, la - i) == 0;
    }
}
