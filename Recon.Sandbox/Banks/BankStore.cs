using Recon.Core.Ingestion.Statements;

namespace Recon.Sandbox.Banks;

/// <summary>Statements per bank, account and statement date, written out as files when asked for.</summary>
public sealed class BankStore
{
    /// <summary>Bank A speaks BAI2.</summary>
    public const string BankA = "bank-a";

    /// <summary>Bank B speaks camt.053.</summary>
    public const string BankB = "bank-b";

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Bank, string Account, DateOnly Date), BankStatement> _statements = [];

    public int Load(string bank, IEnumerable<BankStatement> statements)
    {
        if (bank is not (BankA or BankB))
        {
            throw new ArgumentException($"unknown bank '{bank}' (expected {BankA} or {BankB})", nameof(bank));
        }
        var n = 0;
        lock (_lock)
        {
            foreach (var s in statements)
            {
                var date = s.StatementDate ?? throw new ArgumentException($"statement of account {s.Account} has no statement date");
                _statements[(bank, s.Account, date)] = s;
                n++;
            }
        }
        return n;
    }

    public BankStatement? Find(string bank, string account, DateOnly date)
    {
        lock (_lock)
        {
            return _statements.GetValueOrDefault((bank, account, date));
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _statements.Clear();
        }
    }
}
