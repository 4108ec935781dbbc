namespace Recon.Core.Domain;

/// <summary>The provider names stored in <c>provider_transactions.provider</c> (a check constraint holds the same list).</summary>
public static class Providers
{
    public const string Stripe = "stripe";
    public const string Plaid = "plaid";
    public const string BankA = "bank_a";
    public const string BankB = "bank_b";

    /// <summary>Transactions read from a CSV file by <c>recon match</c>.</summary>
    public const string Csv = "csv";

    public static IReadOnlyList<string> All { get; } = [Stripe, Plaid, BankA, BankB, Csv];

    public static bool IsKnown(string provider) => All.Contains(provider, StringComparer.Ordinal);
}
