using System.Globalization;
using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>What a provider transaction truly corresponds to; empty <see cref="LedgerIds"/> means nothing.</summary>
public sealed record MatchTruth(string Provider, string ProviderTxId, IReadOnlyList<string> LedgerIds);

/// <summary>Generated provider transactions and ledger entries with the ground truth that produced them.</summary>
public sealed record MatchScenario(
    IReadOnlyList<ProviderTransaction> Transactions,
    IReadOnlyList<LedgerEntry> Ledger,
    IReadOnlyList<MatchTruth> Truth);

/// <summary>
/// A deterministic, realistic generator for matching: the same seed gives the same data on every machine
/// (<see cref="Random(int)"/> with a seed is a fixed algorithm). Noise: log-normal amounts, high-value wires, Stripe
/// charges with 2.9% + 30c fees booked gross or net, refunds, bank deposits of payouts against many receipts, partial
/// payments, weekend value-date drift, repeated and identical payments, reference typos, unmatched items on both
/// sides, EUR/GBP/JPY.
/// </summary>
/// <remarks>Amounts are drawn with doubles and rounded once to <c>long</c> minor units; everything after that is integer.</remarks>
public static class MatchScenarioGenerator
{
    /// <summary>First ledger date (a Monday); dates spread over <see cref="SpanDays"/> calendar days.</summary>
    public static readonly DateOnly StartDate = new(2026, 1, 5);

    /// <summary>Four weeks: a month of activity, so a bucket holds about 1/28 of the ledger.</summary>
    public const int SpanDays = 28;

    /// <summary>Generates about <paramref name="transactions"/> provider transactions and their ledger.</summary>
    public static MatchScenario Generate(int transactions, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(transactions);
        var g = new State(seed, transactions);
        while (g.Tx.Count < transactions)
        {
            var p = g.Rng.NextDouble();
            if (p < 0.40) { g.StripeCharge(); }
            else if (p < 0.44) { g.StripeRefund(); }
            else if (p < 0.72) { g.BankPayment(Providers.BankA, "USD", wire: false); }
            else if (p < 0.80) { g.BankPayment(Providers.Plaid, "USD", wire: false); }
            else if (p < 0.83) { g.BankPayment(Providers.BankB, "USD", wire: true); }
            else if (p < 0.86) { g.BankPayment(Providers.BankB, Pick(g.Rng, "EUR", "GBP", "JPY"), wire: g.Rng.NextDouble() < 0.3); }
            else if (p < 0.87) { g.PayoutDeposit(g.Rng.Next(2, 41)); }
            else if (p < 0.89) { g.PartialPayments(); }
            else if (p < 0.90) { g.UnmatchedProvider(); }
            else if (p < 0.902) { g.IdenticalDoublePayment(); }
            else if (p < 0.907) { g.RepeatEarlier(); }
            else if (p < 0.917) { g.UnmatchedLedger(); }
            else { g.BankPayment(Providers.BankA, "USD", wire: false); }
        }
        return new MatchScenario(g.Tx, g.Ledger, g.Truth);
    }

    /// <summary>The 1:N case alone: <paramref name="payouts"/> bank deposits, each the net of <paramref name="chargesPerPayout"/> gross receipts and one fee entry.</summary>
    public static MatchScenario GeneratePayouts(int payouts, int chargesPerPayout, int seed)
    {
        var g = new State(seed, payouts);
        for (var i = 0; i < payouts; i++)
        {
            g.PayoutDeposit(chargesPerPayout);
        }
        return new MatchScenario(g.Tx, g.Ledger, g.Truth);
    }

    private static string Pick(Random rng, params string[] options) => options[rng.Next(options.Length)];

    private sealed class State(int seed, int capacity)
    {
        private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        private long _next;

        public Random Rng { get; } = new(seed);
        public List<ProviderTransaction> Tx { get; } = new(capacity + 16);
        public List<LedgerEntry> Ledger { get; } = new(capacity + (capacity / 4));
        public List<MatchTruth> Truth { get; } = new(capacity + 16);

        private string NextId(string prefix) => prefix + (++_next).ToString("x8", CultureInfo.InvariantCulture);

        private string Token(int length)
        {
            return string.Create(length, Rng, static (span, rng) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = Alphabet[rng.Next(Alphabet.Length)];
                }
            });
        }

        private double Normal()
        {
            var u1 = 1.0 - Rng.NextDouble();
            var u2 = Rng.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        }

        /// <summary>Log-normal minor units: median <paramref name="median"/> major units, scaled to the currency.</summary>
        private long Amount(double median, double sigma, string currency)
        {
            var major = median * Math.Exp(sigma * Normal());
            var scale = Math.Pow(10, Currency.MinorUnitExponent(currency));
            return Math.Max(1, (long)Math.Round(major * scale));
        }

        private DateOnly LedgerDate() => StartDate.AddDays(Rng.Next(SpanDays));

        /// <summary>The bank's value date: the ledger date moved off the weekend, then 0-2 business days later.</summary>
        private DateOnly SettleDate(DateOnly ledgerDate)
        {
            var p = Rng.NextDouble();
            var drift = p < 0.6 ? 0 : p < 0.9 ? 1 : 2;
            var d = ledgerDate;
            while (d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                d = d.AddDays(1);
            }
            while (drift > 0)
            {
                d = d.AddDays(1);
                if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
                {
                    drift--;
                }
            }
            return d;
        }

        private string Typo(string s)
        {
            // one substitution somewhere after the prefix, always a different character
            var chars = s.ToCharArray();
            var i = Rng.Next(Math.Min(4, chars.Length - 1), chars.Length);
            var c = chars[i];
            do
            {
                chars[i] = Alphabet[Rng.Next(Alphabet.Length)];
            }
            while (chars[i] == c);
            return new string(chars);
        }

        private LedgerEntry AddLedger(string account, long amount, string currency, DateOnly date, string? reference, string? externalRef, string description)
        {
            var e = new LedgerEntry(NextId("L"), account, amount, currency, date, reference, externalRef, "cust-" + Rng.Next(50_000), description);
            Ledger.Add(e);
            return e;
        }

        private void AddTx(ProviderTransaction tx, params LedgerEntry[] truth)
        {
            Tx.Add(tx);
            Truth.Add(new MatchTruth(tx.Provider, tx.ProviderTxId, truth.Select(l => l.Id).ToArray()));
        }

        public void StripeCharge()
        {
            var gross = Amount(45, 1.0, "USD");
            var fee = ((gross * 29) + 500) / 1000 + 30;
            var charge = "ch_" + Token(14);
            var date = LedgerDate();
            // a third of merchants book Stripe receipts net of fees
            var bookNet = Rng.NextDouble() < 0.33;
            var le = AddLedger("stripe-clearing", bookNet ? gross - fee : gross, "USD", date, "ORD-" + Token(8), charge, "card payment");
            AddTx(new ProviderTransaction(Providers.Stripe, charge, "acct_main", gross, fee, "USD", date, SettleDate(date),
                charge, null, "order", "po_" + Token(10)), le);
        }

        public void StripeRefund()
        {
            var amount = -Amount(40, 0.9, "USD");
            var refund = "re_" + Token(14);
            var date = LedgerDate();
            var le = AddLedger("stripe-clearing", amount, "USD", date, "RFD-" + Token(8), refund, "refund");
            AddTx(new ProviderTransaction(Providers.Stripe, refund, "acct_main", amount, 0, "USD", date, SettleDate(date),
                refund, null, "refund", null), le);
        }

        public void BankPayment(string provider, string currency, bool wire)
        {
            var amount = wire ? Amount(50_000, 1.2, currency) : Amount(800, 1.3, currency);
            if (Rng.NextDouble() < 0.08)
            {
                amount = -amount; // outgoing payment
            }
            var date = LedgerDate();
            var reference = (wire ? "WIRE-" : "INV-") + Token(10);
            var le = AddLedger(wire ? "wires" : "receivables", amount, currency, date, reference, null, wire ? "wire" : "invoice");
            var seen = Rng.NextDouble() < 0.008 ? Typo(reference) : reference;
            var paid = amount;
            if (wire && Rng.NextDouble() < 0.2 && Math.Abs(amount) > 1_000_000)
            {
                // an intermediary bank kept 15-35 of the wire without saying so (inside the default tolerance)
                paid -= Math.Sign(amount) * Rng.Next(1_500, 3_501);
            }
            var id = provider + "-" + Token(12);
            var viaEndToEnd = provider != Providers.BankA;
            AddTx(new ProviderTransaction(provider, id, "acct-" + currency, paid, 0, currency, date, SettleDate(date),
                viaEndToEnd ? null : seen, viaEndToEnd ? seen : null, "payment " + seen, null), le);
        }

        public void PayoutDeposit(int charges)
        {
            var payout = "po_" + Token(16);
            var date = LedgerDate();
            long net = 0, fees = 0;
            var members = new List<LedgerEntry>(charges + 1);
            for (var i = 0; i < charges; i++)
            {
                var gross = Amount(45, 1.0, "USD");
                var fee = ((gross * 29) + 500) / 1000 + 30;
                fees += fee;
                net += gross - fee;
                members.Add(AddLedger("stripe-clearing", gross, "USD", date.AddDays(-Rng.Next(0, 3)), payout, null, "receipt"));
            }
            members.Add(AddLedger("stripe-fees", -fees, "USD", date, payout, null, "stripe fees"));
            AddTx(new ProviderTransaction(Providers.BankA, "dep-" + Token(12), "acct-USD", net, 0, "USD", date, SettleDate(date),
                payout, null, "STRIPE PAYOUT " + payout, null), [.. members]);
        }

        public void PartialPayments()
        {
            var total = Amount(3_000, 1.0, "USD") + 3;
            var date = LedgerDate();
            var reference = "INV-" + Token(10);
            var le = AddLedger("receivables", total, "USD", date, reference, null, "invoice paid in parts");
            var parts = Rng.Next(2, 4);
            var left = total;
            for (var i = 0; i < parts; i++)
            {
                var part = i == parts - 1 ? left : Math.Max(1, left / (parts - i) + Rng.Next(-100, 100));
                left -= part;
                AddTx(new ProviderTransaction(Providers.BankB, "part-" + Token(12), "acct-USD", part, 0, "USD", date, SettleDate(date),
                    null, reference, "partial " + reference, null), le);
            }
        }

        public void UnmatchedProvider()
        {
            var date = LedgerDate();
            AddTx(new ProviderTransaction(Providers.BankA, "odd-" + Token(12), "acct-USD", Amount(300, 1.5, "USD"), 0, "USD", date,
                SettleDate(date), "UNK-" + Token(10), null, "unknown", null));
        }

        public void UnmatchedLedger()
            => AddLedger("receivables", Amount(500, 1.3, "USD"), "USD", LedgerDate(), "INV-" + Token(10), null, "never paid");

        public void IdenticalDoublePayment()
        {
            var amount = Amount(800, 1.0, "USD");
            var date = LedgerDate();
            var reference = "INV-" + Token(10);
            var le = AddLedger("receivables", amount, "USD", date, reference, null, "invoice");
            var settle = SettleDate(date);
            // the payer sent the same payment twice: the truth pairs only the first, the second is owed back
            AddTx(new ProviderTransaction(Providers.BankA, "dbl-" + Token(12), "acct-USD", amount, 0, "USD", date, settle, reference, null, "payment", null), le);
            AddTx(new ProviderTransaction(Providers.BankA, "dbl-" + Token(12), "acct-USD", amount, 0, "USD", date, settle, reference, null, "payment", null));
        }

        public void RepeatEarlier()
        {
            if (Tx.Count == 0)
            {
                return;
            }
            // the provider delivered a transaction twice (a re-sent page): same id, same content, no new truth row
            Tx.Add(Tx[Rng.Next(Tx.Count)]);
        }
    }
}
