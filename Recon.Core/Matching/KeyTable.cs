using System.Numerics;

namespace Recon.Core.Matching;

/// <summary>
/// Strings to dense ids (0, 1, 2, ... in the order first added), sized once for a known most-distinct count.
/// </summary>
/// <remarks>
/// The matcher hashes millions of references per run and that, not arithmetic, was its cost: each probe of a
/// <see cref="Dictionary{TKey,TValue}"/> touches a bucket, then an entry elsewhere. Here a slot holds the hash next to
/// the id, so a probe reads one cache line, an absent key costs one miss, and strings are compared only on a full
/// 32-bit hash match. Linear probing at most two thirds full keeps probe runs short
/// and the table small: above the cache's size every probe is also a TLB miss, so half the bytes is fewer of those. Ids do not depend on the hash, so the
/// (per-process randomized) string hash never shows in results.
/// </remarks>
internal sealed class KeyTable
{
    private readonly ulong[] _slots; // (hash << 32) | (id + 1); 0 is empty
    private readonly int _mask;
    private readonly string[] _keys;

    /// <param name="maxKeys">The most distinct strings that will be added; adding more throws.</param>
    public KeyTable(int maxKeys)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxKeys);
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxKeys + (maxKeys / 2L) + 1));
        _slots = new ulong[size];
        _mask = size - 1;
        _keys = new string[maxKeys];
    }

    /// <summary>Distinct strings added so far.</summary>
    public int Count { get; private set; }

    /// <summary>The hash a slot stores for <paramref name="key"/> (per-process randomized, like every string hash).</summary>
    public static uint Hash(string key) => (uint)key.GetHashCode();

    /// <summary>The id of <paramref name="key"/>, added with the next id when new (<paramref name="added"/>).</summary>
    public int GetOrAdd(string key, out bool added)
    {
        var hash = (uint)key.GetHashCode();
        for (var i = (int)(hash & (uint)_mask); ; i = (i + 1) & _mask)
        {
            var slot = _slots[i];
            if (slot == 0)
            {
                var id = Count;
                _keys[id] = key; // throws when more than maxKeys distinct strings come: a sizing bug, not data
                _slots[i] = ((ulong)hash << 32) | (uint)(id + 1);
                Count = id + 1;
                added = true;
                return id;
            }
            if ((uint)(slot >> 32) == hash && string.Equals(_keys[(int)(uint)slot - 1], key, StringComparison.Ordinal))
            {
                added = false;
                return (int)(uint)slot - 1;
            }
        }
    }

    /// <summary>The id of <paramref name="key"/>, or -1 when it was never added.</summary>
    public int Find(string key) => Find(key, Hash(key));

    /// <summary>The id of <paramref name="key"/> whose <see cref="Hash"/> is <paramref name="hash"/>, or -1.</summary>
    public int Find(string key, uint hash)
    {
        for (var i = (int)(hash & (uint)_mask); ; i = (i + 1) & _mask)
        {
            var slot = _slots[i];
            if (slot == 0)
            {
                return -1;
            }
            if ((uint)(slot >> 32) == hash && string.Equals(_keys[(int)(uint)slot - 1], key, StringComparison.Ordinal))
            {
                return (int)(uint)slot - 1;
            }
        }
    }
}
