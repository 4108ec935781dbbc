using System.Globalization;
using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>What a provider transaction truly corresponds to; empty <see cref="LedgerIds"/> means nothing.</summary>
/// <param name="Provider">Provider of the transaction.</param>
/// <param name="ProviderTxId">Provider id of the transaction.</param>
/// <param name="LedgerIds">The ledger entries it truly pays; empty when none.</param>
/// <param name="Kind">What kind of case it is (<c>charge</c>, <c>instalment</c>, <c>no_reference</c>, ...), so precision
/// and recall can be reported per kind; empty when unknown.</param>
public sealed record MatchTruth(string Provider, string ProviderTxId, IReadOnlyList<string> LedgerIds, string Kind = "");

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
/// sides, EUR/GBP/JPY; instalments naming one invoice, payments without a reference that name their payer, re-delivered
/// transactions and long wire references with two characters swapped. Every truth row says its kind
/// (<see cref="Kinds"/>), so precision and recall can be read per kind.
/// </summary>
/// <remarks>Amounts are drawn with doubles and rounded once to <c>long</c> minor units; everything after that is integer.</remarks>
public static class MatchScenarioGenerator
{
    /// <summary>First ledger date (a Monday); dates spread over <see cref="SpanDays"/> calendar days.</summary>
    public static readonly DateOnly StartDate = new(2026, 1, 5);

    /// <summary>Four weeks: a month of activity, so a bucket holds about 1/28 of the ledger.</summary>
    public const int SpanDays = 28;

    /// <summary>The kinds of case the generator writes into <see cref="MatchTruth.Kind"/>.</summary>
    public static class Kinds
    {
        public const string Charge = "charge";
        public const string Refund = "refund";
        public const string Bank = "bank";
        public const string Wire = "wire";
        public const string Foreign = "fx_currency";
        public const string Payout = "payout_1n";
        public const string Instalment = "instalment_n1";
        public const string NoReference = "no_reference";
        public const string NoReferenceCommonAmount = "no_reference_common_amount";
        public const string Redelivered = "redelivered";
        public const string DoublePayment = "double_payment";
        public const string Typo = "typo";
        public const string Transposed = "transposed_wire";
        public const string UnmatchedProvider = "unmatched_provider";
    }

    // Payers with a legal form, written the way ledgers do; banks show them upper-case, suffix dropped or not.
    private static readonly string[] PayerNames =
    [
        "Hooli", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Vandelay Imports", "Soylent",
        "Tyrell", "Acme", "Cyberdyne Systems", "Wonka", "Oscorp", "Massive Dynamic", "Aperture Science", "Black Mesa",
        "Blue Sun", "Duff Brewing", "Gekko Partners", "Nakatomi Trading", "Pied Piper", "Prestige Worldwide", "Sterling Cooper",
        "Dunder Mifflin", "Bluth Company", "Krusty Krab", "Monsters Incorporated", "Virtucon", "Wernham Hogg", "Yoyodyne",
    ];

    private static readonly string[] LegalForms = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "S.A.", "", "B.V."];

    /// <summary>Generates about <paramref name="transactions"/> provider transactions and their ledger.</summary>
    /// <param name="transactions">About how many provider transactions.</param>
    /// <param name="seed">Any integer; the data depends on nothing else.</param>
    /// <param name="withEvidenceKinds">False gives the mix from before issue #14 (no payments without a reference, no
    /// transposed wires; those draws become ordinary bank payments), byte for byte: the same data an older build
    /// generates, so two builds can be timed and their verdicts compared on it.</param>
    public static MatchScenario Generate(int transactions, int seed, bool withEvidenceKinds = true)
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
            else if (withEvidenceKinds && p < 0.947) { g.NoReferencePayment(); }
            else if (withEvidenceKinds && p < 0.952) { g.NoReferenceCommonAmount(); }
            else if (withEvidenceKinds && p < 0.962) { g.TransposedWire(); }
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

        // the truth row of each transaction (a repeat shares its original's), to relabel a re-delivered one
        private readonly List<int> _truthOf = new(capacity + 16);

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

        private void AddTx(string kind, ProviderTransaction tx, params LedgerEntry[] truth)
        {
            Tx.Add(tx);
            _truthOf.Add(Truth.Count);
            Truth.Add(new MatchTruth(tx.Provider, tx.ProviderTxId, truth.Select(l => l.Id).ToArray(), kind));
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
            AddTx(Kinds.Charge, new ProviderTransaction(Providers.Stripe, charge, "acct_main", gross, fee, "USD", date, SettleDate(date),
                charge, null, "order", "po_" + Token(10)), le);
        }

        public void StripeRefund()
        {
            var amount = -Amount(40, 0.9, "USD");
            var refund = "re_" + Token(14);
            var date = LedgerDate();
            var le = AddLedger("stripe-clearing", amount, "USD", date, "RFD-" + Token(8), refund, "refund");
            AddTx(Kinds.Refund, new ProviderTransaction(Providers.Stripe, refund, "acct_main", amount, 0, "USD", date, SettleDate(date),
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
            var kind = !ReferenceEquals(seen, reference) ? Kinds.Typo : currency != "USD" ? Kinds.Foreign : wire ? Kinds.Wire : Kinds.Bank;
            AddTx(kind, new ProviderTransaction(provider, id, "acct-" + currency, paid, 0, currency, date, SettleDate(date),
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
            AddTx(Kinds.Payout, new ProviderTransaction(Providers.BankA, "dep-" + Token(12), "acct-USD", net, 0, "USD", date, SettleDate(date),
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
                AddTx(Kinds.Instalment, new ProviderTransaction(Providers.BankB, "part-" + Token(12), "acct-USD", part, 0, "USD", date, SettleDate(date),
                    null, reference, "partial " + reference, null), le);
            }
        }

        public void UnmatchedProvider()
        {
            var date = LedgerDate();
            AddTx(Kinds.UnmatchedProvider, new ProviderTransaction(Providers.BankA, "odd-" + Token(12), "acct-USD", Amount(300, 1.5, "USD"), 0, "USD", date,
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
            AddTx(Kinds.DoublePayment, new ProviderTransaction(Providers.BankA, "dbl-" + Token(12), "acct-USD", amount, 0, "USD", date, settle, reference, null, "payment", null), le);
            AddTx(Kinds.DoublePayment, new ProviderTransaction(Providers.BankA, "dbl-" + Token(12), "acct-USD", amount, 0, "USD", date, settle, reference, null, "payment", null));
        }

        public void RepeatEarlier()
        {
            if (Tx.Count == 0)
            {
                return;
            }
            // the provider delivered a transaction twice (a re-sent page): same id, same content, no new truth row; the
            // original's row is relabelled so the kind is measured (matched once, the repeat reported)
            var i = Rng.Next(Tx.Count);
            Tx.Add(Tx[i]);
            var row = _truthOf[i];
            _truthOf.Add(row);
            Truth[row] = Truth[row] with { Kind = Kinds.Redelivered };
        }

        private string PayerName() => PayerNames[Rng.Next(PayerNames.Length)];

        private string LegalName(string payer)
        {
            var form = LegalForms[Rng.Next(LegalForms.Length)];
            return form.Length == 0 ? payer : payer + (Rng.NextDouble() < 0.3 ? ", " : " ") + form;
        }

        /// <summary>How a bank shows the payer in its description: upper case, the legal form kept or not, words around it.</summary>
        private string BankDescription(string payer, string legalName)
        {
            var p = Rng.NextDouble();
            return p < 0.35 ? payer.ToUpperInvariant() + " PAYMENT"
                : p < 0.6 ? "PAYMENT FROM " + legalName.ToUpperInvariant()
                : p < 0.8 ? "TRF " + legalName.ToUpperInvariant().Replace(",", "", StringComparison.Ordinal) + " REF MISSING"
                : payer;
        }

        /// <summary>A payer paid an invoice without quoting its reference: only the amount, the day and its name tell.</summary>
        public void NoReferencePayment()
        {
            var amount = Amount(800, 1.3, "USD");
            var date = LedgerDate();
            var payer = PayerName();
            var legal = LegalName(payer);
            while (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                date = date.AddDays(1);
            }
            var le = new LedgerEntry(NextNamedId(), "receivables", amount, "USD", date, "INV-" + Token(10), null, legal, "invoice");
            Ledger.Add(le);
            // booked from the bank statement, so mostly on its value date; some a day late (then only proposed)
            var settle = Rng.NextDouble() < 0.85 ? date : SettleDate(date.AddDays(1));
            AddTx(Kinds.NoReference, new ProviderTransaction(Providers.BankA, "nrf-" + Token(12), "acct-USD", amount, 0, "USD", date, settle,
                null, null, BankDescription(payer, legal), null), le);
        }

        /// <summary>A subscription price two customers owe on the same day, paid without a reference: the name points at
        /// one entry but the amount is not unique, so it is only ever proposed.</summary>
        public void NoReferenceCommonAmount()
        {
            var amount = Amount(800, 1.3, "USD");
            var date = LedgerDate();
            var payer = PayerNames[Rng.Next(PayerNames.Length / 2)];
            var other = PayerNames[(PayerNames.Length / 2) + Rng.Next(PayerNames.Length / 2)];
            var legal = LegalName(payer);
            var le = new LedgerEntry(NextNamedId(), "receivables", amount, "USD", date, "INV-" + Token(10), null, legal, "subscription");
            Ledger.Add(le);
            Ledger.Add(new LedgerEntry(NextNamedId(), "receivables", amount, "USD", date, "INV-" + Token(10), null, LegalName(other), "subscription"));
            AddTx(Kinds.NoReferenceCommonAmount, new ProviderTransaction(Providers.BankA, "nrc-" + Token(12), "acct-USD", amount, 0, "USD", date,
                SettleDate(date), null, null, BankDescription(payer, legal), null), le);
        }

        /// <summary>A large wire whose long reference reached the bank with two adjacent characters swapped, sometimes
        /// short of an intermediary's charge.</summary>
        public void TransposedWire()
        {
            var amount = Amount(50_000, 1.2, "USD");
            var date = LedgerDate();
            var reference = "WIRE-" + Token(14);
            var le = AddLedger("wires", amount, "USD", date, reference, null, "wire");
            var chars = reference.ToCharArray();
            int i;
            do
            {
                i = Rng.Next(5, chars.Length - 1);
            }
            while (chars[i] == chars[i + 1] && chars.Distinct().Count() > 6);
            (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]);
            var seen = new string(chars);
            var paid = amount;
            if (Rng.NextDouble() < 0.3 && amount > 1_000_000)
            {
                paid -= Rng.Next(1_500, 3_501);
            }
            AddTx(Kinds.Transposed, new ProviderTransaction(Providers.BankB, "BankB-" + Token(12), "acct-USD", paid, 0, "USD", date, SettleDate(date),
                null, seen, "payment " + seen, null), le);
        }

        private string NextNamedId() => NextId("L");
    }
}
