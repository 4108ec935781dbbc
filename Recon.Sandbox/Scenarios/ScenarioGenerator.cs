using System.Globalization;
using System.Text.Json.Nodes;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Camt053;
using Recon.Core.Ingestion.Statements;
using Recon.Sandbox.Admin;
using Recon.Sandbox.Plaid;

namespace Recon.Sandbox.Scenarios;

/// <summary>
/// Generates a scenario from a seed and a size, deterministically and without I/O or the clock: the same seed and
/// size give the same ledger, provider data and truth, byte for byte. Realistic on purpose: log-normal amounts with a
/// tail of high-value wires, Stripe fees (2.9% + 30c) netted in daily payouts that group many charges, refunds, value
/// dates that drift off weekends, duplicates, references with typos, payments that name their payer but no reference,
/// unmatched items on both sides, EUR beside USD.
/// </summary>
public static class ScenarioGenerator
{
    /// <summary>A million events keep a scenario in a few GB at most; beyond that generate in slices.</summary>
    public const int MaxSize = 1_000_000;

    /// <summary>Two weeks: enough weekends for value-date drift and for payouts to group several days.</summary>
    public const int SpanDays = 14;

    public const string BankAAccount = "100200300";
    public const string BankBAccount = "DE89370400440532013000";

    /// <param name="seed">Any integer; the scenario depends on nothing else.</param>
    /// <param name="size">About the number of business events (Stripe half, banks a third, Plaid the rest).</param>
    /// <param name="start">First day (default Monday 2025-06-02).</param>
    public static Scenario Generate(int seed, int size, DateOnly? start = null)
    {
        if (size is < 1 or > MaxSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be between 1 and {MaxSize}");
        }
        return new Builder(seed, size, start ?? new DateOnly(2025, 6, 2)).Build();
    }

    private sealed class Builder(int seed, int size, DateOnly start)
    {
        private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        private static readonly string[] Customers = ["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises", "Hooli", "Vandelay Imports", "Soylent GmbH", "Tyrell BV"];

        private readonly Random _rng = new(seed);
        private readonly List<LedgerEntry> _ledger = [];
        private readonly List<TruthRow> _truth = [];
        private readonly List<JsonObject> _bts = [];
        private readonly List<JsonObject> _charges = [];
        private readonly List<JsonObject> _payouts = [];
        private readonly List<PlaidEventDto> _plaid = [];
        private readonly Dictionary<string, List<(ProviderTransaction Tx, string[] LedgerIds)>> _bank = new(StringComparer.Ordinal) { [Providers.BankA] = [], [Providers.BankB] = [] };
        private int _ledgerSeq;
        private int _refSeq;

        public Scenario Build()
        {
            GenerateStripe(Math.Max(1, size / 2));
            GenerateBank(Providers.BankA, BankAAccount, "USD", size / 5, wireShare: 0.10);
            GenerateBank(Providers.BankB, BankBAccount, "EUR", size * 15 / 100, wireShare: 0.05);
            var plaidToken = $"access-sandbox-{seed}";
            GeneratePlaid($"plaid_acc_{seed}", size * 15 / 100);
            var bankA = Statements(Providers.BankA, BankAAccount, "USD");
            var bankB = Statements(Providers.BankB, BankBAccount, "EUR");
            return new Scenario(seed, size, _ledger, _bts, _charges, _payouts, plaidToken, _plaid, bankA, bankB, _truth);
        }

        private void GenerateStripe(int charges)
        {
            var unpaid = new List<(JsonObject Bt, string Currency, DateOnly Day, long Net)>();
            for (var i = 0; i < charges; i++)
            {
                var day = RandomDay();
                var created = Unix(day) + _rng.Next(86_400);
                var currency = _rng.NextDouble() < 0.9 ? "USD" : "EUR";
                var amount = LogNormal(4_500, 1.0, 50, 5_000_000);
                var fee = ((amount * 29) + 500) / 1000 + 30;
                var chargeId = "ch_" + RandomId(24);
                var txnId = "txn_" + RandomId(24);
                var invoice = $"INV-{seed % 1000:D3}{i:D6}";
                var customer = Pick(Customers);
                _charges.Add(new JsonObject
                {
                    ["id"] = chargeId, ["object"] = "charge", ["amount"] = amount, ["amount_captured"] = amount, ["amount_refunded"] = 0,
                    ["balance_transaction"] = txnId, ["captured"] = true, ["created"] = created, ["currency"] = currency.ToLowerInvariant(),
                    ["customer"] = null, ["description"] = invoice, ["livemode"] = false, ["metadata"] = new JsonObject { ["invoice"] = invoice },
                    ["paid"] = true, ["refunded"] = false, ["status"] = "succeeded",
                });
                var bt = Bt(txnId, amount, fee, currency, created, created + (2 * 86_400), invoice, chargeId, "charge");
                _bts.Add(bt);
                unpaid.Add((bt, currency, day, amount - fee));
                // 1% of charges never reached the ledger (a stray on the provider side)
                if (_rng.NextDouble() < 0.01)
                {
                    _truth.Add(new TruthRow(Providers.Stripe, txnId, []));
                }
                else
                {
                    var id = Ledger("stripe:sales", amount, currency, day, invoice, _rng.NextDouble() < 0.6 ? chargeId : null, customer, $"card sale {invoice}");
                    _truth.Add(new TruthRow(Providers.Stripe, txnId, [id]));
                }
                if (_rng.NextDouble() < 0.03)
                {
                    var refundDay = day.AddDays(1 + _rng.Next(4));
                    var refundId = "re_" + RandomId(24);
                    var refundTxn = "txn_" + RandomId(24);
                    var rbt = Bt(refundTxn, -amount, 0, currency, Unix(refundDay) + _rng.Next(86_400), Unix(refundDay) + (2 * 86_400), $"refund {invoice}", refundId, "refund");
                    _bts.Add(rbt);
                    unpaid.Add((rbt, currency, refundDay, -amount));
                    var rid = Ledger("stripe:sales", -amount, currency, refundDay, "RF-" + invoice, _rng.NextDouble() < 0.5 ? refundId : null, customer, $"refund {invoice}");
                    _truth.Add(new TruthRow(Providers.Stripe, refundTxn, [rid]));
                }
            }
            // 1% of expected sales never charged (a stray on the ledger side)
            for (var i = 0; i < Math.Max(1, charges / 100); i++)
            {
                Ledger("stripe:sales", LogNormal(4_500, 1.0, 50, 5_000_000), "USD", RandomDay(), $"INV-{seed % 1000:D3}X{i:D5}", null, Pick(Customers), "expected card sale");
            }
            // automatic daily payouts: everything of one currency created on one day, paid out two days later, fees netted
            foreach (var group in unpaid.GroupBy(u => (u.Currency, u.Day)).OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Currency, StringComparer.Ordinal))
            {
                var net = group.Sum(g => g.Net);
                if (net <= 0)
                {
                    continue;
                }
                var (currency, day) = group.Key;
                var payoutDay = day.AddDays(2);
                var payoutId = "po_" + RandomId(24);
                var payoutTxn = "txn_" + RandomId(24);
                foreach (var (bt, _, _, _) in group)
                {
                    bt["payout"] = payoutId;
                }
                var pbt = Bt(payoutTxn, -net, 0, currency, Unix(payoutDay) + 21_600, Unix(payoutDay) + 21_600, "STRIPE PAYOUT", payoutId, "payout");
                pbt["payout"] = payoutId;
                _bts.Add(pbt);
                var arrival = payoutDay.AddDays(1);
                _payouts.Add(new JsonObject
                {
                    ["id"] = payoutId, ["object"] = "payout", ["amount"] = net, ["arrival_date"] = Unix(arrival), ["automatic"] = true,
                    ["balance_transaction"] = payoutTxn, ["created"] = Unix(payoutDay) + 21_600, ["currency"] = currency.ToLowerInvariant(),
                    ["description"] = "STRIPE PAYOUT", ["destination"] = "ba_sandbox", ["livemode"] = false, ["metadata"] = new JsonObject(),
                    ["method"] = "standard", ["reconciliation_status"] = "completed", ["source_type"] = "card", ["statement_descriptor"] = null,
                    ["status"] = "paid", ["type"] = "bank_account",
                });
                var payoutRef = $"STRIPE-PAYOUT-{day:yyyyMMdd}-{currency}";
                var clearing = Ledger("stripe:clearing", -net, currency, payoutDay, payoutRef, _rng.NextDouble() < 0.5 ? payoutId : null, "Stripe", "payout to bank");
                _truth.Add(new TruthRow(Providers.Stripe, payoutTxn, [clearing]));
                // the payout lands at the bank: USD at bank A, EUR at bank B
                var (bank, account) = currency == "USD" ? (Providers.BankA, BankAAccount) : (Providers.BankB, BankBAccount);
                var deposit = Ledger($"{bank}:operating", net, currency, arrival, payoutRef, null, "Stripe", "Stripe payout received");
                AddBankTx(bank, account, currency, net, arrival, payoutId, "STRIPE TRANSFER " + payoutId, [deposit]);
            }
        }

        private void GenerateBank(string bank, string account, string currency, int count, double wireShare)
        {
            for (var i = 0; i < count; i++)
            {
                var wire = _rng.NextDouble() < wireShare;
                // a tail of high-value wires: median 50,000.00, some in the millions
                var magnitude = wire ? LogNormal(5_000_000, 1.2, 100_000, 2_000_000_000) : LogNormal(80_000, 0.9, 100, 50_000_000);
                var amount = _rng.NextDouble() < 0.6 ? magnitude : -magnitude;
                var day = RandomDay();
                var reference = $"{(wire ? "WIRE" : bank == Providers.BankA ? "ACH" : "SEPA")}-{seed % 1000:D3}{++_refSeq:D6}";
                var counterparty = Pick(Customers);
                var id = Ledger($"{bank}:operating", amount, currency, day, reference, null, counterparty, wire ? "wire" : "transfer");
                // 5% of references reach the bank with a typo
                var sent = _rng.NextDouble() < 0.05 ? Typo(reference) : reference;
                AddBankTx(bank, account, currency, amount, day, sent, $"{counterparty.ToUpperInvariant()} {sent}", [id]);
                // 1% delivered twice by the bank: the second copy should match nothing
                if (_rng.NextDouble() < 0.01)
                {
                    AddBankTx(bank, account, currency, amount, day, sent, $"{counterparty.ToUpperInvariant()} {sent}", []);
                }
                // 3% of payers quote no reference at all: the bank shows only their name, so the amount, the day and
                // the name are all there is (matched when the amount is the only one of its size in the window)
                if (_rng.NextDouble() < 0.03)
                {
                    var payer = Pick(Customers);
                    var paid = LogNormal(80_000, 0.9, 100, 50_000_000);
                    var paidOn = RandomDay();
                    var invoice = Ledger($"{bank}:operating", paid, currency, paidOn, $"INV-{seed % 1000:D3}N{++_refSeq:D6}", null, payer, "invoice");
                    AddBankTx(bank, account, currency, paid, paidOn, null, $"{payer.ToUpperInvariant()} PAYMENT", [invoice]);
                }
            }
            // strays on both sides: bank charges the ledger never booked, ledger transfers the bank never saw
            for (var i = 0; i < Math.Max(1, count / 50); i++)
            {
                AddBankTx(bank, account, currency, -LogNormal(2_500, 0.5, 100, 100_000), RandomDay(), null, "SERVICE CHARGE", []);
                Ledger($"{bank}:operating", LogNormal(80_000, 0.9, 100, 50_000_000), currency, RandomDay(), $"PEND-{seed % 1000:D3}{++_refSeq:D6}", null, Pick(Customers), "expected transfer");
            }
        }

        private void GeneratePlaid(string account, int count)
        {
            var posts = new List<PlaidEventDto>();
            for (var i = 0; i < count; i++)
            {
                var outflow = LogNormal(6_000, 0.8, 100, 500_000);
                var day = RandomDay();
                var merchant = Pick(Customers);
                var reference = $"CARD-{seed % 1000:D3}{++_refSeq:D6}";
                var postedId = "plaid_" + RandomId(30);
                var pending = _rng.NextDouble() < 0.2;
                var postedDay = pending ? day.AddDays(1 + _rng.Next(2)) : day;
                if (pending)
                {
                    var pendingId = "plaid_" + RandomId(30);
                    _plaid.Add(PlaidEventDto.Added(PlaidTransactionJson.Create(pendingId, account, outflow, "USD", day, merchant, pending: true, referenceNumber: reference)));
                    posts.Add(PlaidEventDto.Removed(pendingId, account));
                    posts.Add(PlaidEventDto.Added(PlaidTransactionJson.Create(postedId, account, outflow, "USD", postedDay, merchant, pendingTransactionId: pendingId, referenceNumber: reference)));
                }
                else
                {
                    _plaid.Add(PlaidEventDto.Added(PlaidTransactionJson.Create(postedId, account, outflow, "USD", day, merchant, referenceNumber: reference)));
                }
                if (_rng.NextDouble() < 0.02)
                {
                    _truth.Add(new TruthRow(Providers.Plaid, postedId, []));
                }
                else
                {
                    var id = Ledger("card:corporate", -outflow, "USD", postedDay, reference, null, merchant, "card spend");
                    _truth.Add(new TruthRow(Providers.Plaid, postedId, [id]));
                }
            }
            _plaid.AddRange(posts);
        }

        private void AddBankTx(string bank, string account, string currency, long amount, DateOnly ledgerDay, string? endToEnd, string remittance, string[] ledgerIds)
        {
            // weekend value-date drift: a Saturday or Sunday payment is valued the next Monday
            var value = ledgerDay.DayOfWeek switch { DayOfWeek.Saturday => ledgerDay.AddDays(2), DayOfWeek.Sunday => ledgerDay.AddDays(1), _ => ledgerDay };
            var bankRef = $"{(bank == Providers.BankA ? "A" : "B")}{seed % 1000:D3}{++_refSeq:D8}";
            _bank[bank].Add((new ProviderTransaction(bank, bankRef, account, amount, 0, currency, value, value, bankRef, endToEnd, remittance, null), ledgerIds));
        }

        /// <summary>One statement per business day with activity; ids are what the parser will derive from the written file.</summary>
        private List<BankStatement> Statements(string bank, string account, string currency)
        {
            var statements = new List<BankStatement>();
            var balance = 10_000_000L;
            foreach (var day in _bank[bank].GroupBy(b => b.Tx.BookingDate!.Value).OrderBy(g => g.Key))
            {
                var txs = day.Select(d => d.Tx).ToList();
                var closing = balance + txs.Sum(t => t.AmountMinor);
                var statement = new BankStatement(account, currency, balance, closing, day.Key, null, txs);
                balance = closing;
                var text = bank == Providers.BankA
                    ? Bai2Writer.Write([statement], day.Key.ToDateTime(new TimeOnly(6, 0)))
                    : Camt053Writer.Write([statement], "ids", new DateTimeOffset(day.Key.ToDateTime(new TimeOnly(6, 0)), TimeSpan.Zero));
                var parsed = StatementParser.Parse(text, provider: bank).Statements.Single().Transactions;
                foreach (var ((_, ledgerIds), p) in day.Zip(parsed))
                {
                    _truth.Add(new TruthRow(bank, p.ProviderTxId, ledgerIds));
                }
                statements.Add(statement);
            }
            return statements;
        }

        private JsonObject Bt(string id, long amount, long fee, string currency, long created, long availableOn, string description, string source, string type) => new()
        {
            ["id"] = id, ["object"] = "balance_transaction", ["amount"] = amount, ["available_on"] = availableOn, ["created"] = created,
            ["currency"] = currency.ToLowerInvariant(), ["description"] = description, ["exchange_rate"] = null, ["fee"] = fee,
            ["fee_details"] = fee == 0 ? new JsonArray() : new JsonArray(new JsonObject
            {
                ["amount"] = fee, ["application"] = null, ["currency"] = currency.ToLowerInvariant(), ["description"] = "Stripe processing fees", ["type"] = "stripe_fee",
            }),
            ["net"] = amount - fee, ["reporting_category"] = type, ["source"] = source, ["status"] = "available", ["type"] = type, ["balance_type"] = "payments",
        };

        private string Ledger(string account, long amount, string currency, DateOnly day, string? reference, string? externalRef, string? counterparty, string description)
        {
            var id = $"L{seed}-{++_ledgerSeq:D7}";
            _ledger.Add(new LedgerEntry(id, account, amount, currency, day, reference, externalRef, counterparty, description));
            return id;
        }

        private DateOnly RandomDay() => start.AddDays(_rng.Next(SpanDays));

        private static long Unix(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();

        private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];

        /// <summary>Log-normal around <paramref name="medianMinor"/>; the double only shapes the draw, the amount is whole minor units.</summary>
        private long LogNormal(long medianMinor, double sigma, long min, long max)
        {
            var u1 = 1.0 - _rng.NextDouble();
            var u2 = _rng.NextDouble();
            var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            return Math.Clamp((long)Math.Round(medianMinor * Math.Exp(sigma * z)), min, max);
        }

        private string RandomId(int length)
        {
            var chars = new char[length];
            for (var i = 0; i < length; i++)
            {
                chars[i] = Alphabet[_rng.Next(Alphabet.Length)];
            }
            return new string(chars);
        }

        /// <summary>Swaps two neighbouring characters of the numeric part, or drops one: the mistakes people make.</summary>
        private string Typo(string reference)
        {
            var dash = reference.IndexOf('-', StringComparison.Ordinal);
            var i = dash + 1 + _rng.Next(reference.Length - dash - 2);
            return _rng.NextDouble() < 0.5 && reference[i] != reference[i + 1]
                ? string.Concat(reference.AsSpan(0, i), reference[i + 1].ToString(CultureInfo.InvariantCulture), reference[i].ToString(CultureInfo.InvariantCulture), reference.AsSpan(i + 2))
                : reference.Remove(i, 1);
        }
    }
}
