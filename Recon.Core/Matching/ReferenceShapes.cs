namespace Recon.Core.Matching;

/// <summary>
/// A reference's shape in 32 bits (length, first and last character), enough to rule out most pairs that cannot be
/// one edit apart without reading either string.
/// </summary>
/// <remarks>
/// The matcher compares each amount/date candidate's references with the transaction's for typos; reading the ledger
/// record and two strings per candidate was a third of the candidate search's cost, and almost no candidate is a typo.
/// One edit (substitution, insertion, deletion, adjacent swap) leaves the first or the last character of a reference of
/// two or more characters in place, except a swap of both characters of a two-character one; and the lengths differ by
/// at most one. A shape pair failing that is certainly not one edit apart; a pair passing it is checked on the strings.
/// </remarks>
internal static class ReferenceShapes
{
    private const uint LengthMask = 0xFF;

    /// <summary>Lengths at or above this are stored as it: distances between them only shrink, so nothing is ruled out wrongly.</summary>
    private const int LengthCap = 255;

    /// <summary>The shape of <paramref name="reference"/>; 0 for null or empty.</summary>
    public static uint Of(string? reference)
    {
        if (string.IsNullOrEmpty(reference))
        {
            return 0;
        }
        // 12 bits of each character: equal characters give equal bits; unequal ones rarely do, which only lets a pair through
        return (uint)Math.Min(reference.Length, LengthCap) | ((uint)(reference[0] & 0xFFF) << 8) | ((uint)(reference[^1] & 0xFFF) << 20);
    }

    /// <summary>False when references of shapes <paramref name="a"/> and <paramref name="b"/> cannot both be at least
    /// <paramref name="minLength"/> long and one edit apart; true when they may be.</summary>
    public static bool MayBeOneEdit(uint a, uint b, int minLength)
    {
        var la = (int)(a & LengthMask);
        var lb = (int)(b & LengthMask);
        if ((la < minLength && la < LengthCap) || (lb < minLength && lb < LengthCap) || la == 0 || lb == 0)
        {
            return false;
        }
        if (Math.Abs(la - lb) > 1)
        {
            return false;
        }
        // first characters equal, last characters equal, or a two-character swap
        return ((a ^ b) & 0x000FFF00) == 0 || ((a ^ b) & 0xFFF00000) == 0 || (la <= 2 && lb <= 2);
    }
}
