using Npgsql;
using Recon.Core.Persistence;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Persistence;

[Collection(ExclusiveServerLoad.Name)]
public sealed class PgBouncerTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public PgBouncerTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task ParameterizedInsertAndSelect_ThroughPgBouncer_RoundTrips()
    {
        var pgBouncerPort = int.Parse(Environment.GetEnvironmentVariable("RECON_PGBOUNCER_PORT") ?? "6432", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(pgBouncerPort, new NpgsqlConnectionStringBuilder(_db.ConnectionString).Port);
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        // the server we reach listens elsewhere: PgBouncer is in between
        await using (var serverPort = new NpgsqlCommand("select inet_server_port()", conn))
        {
            Assert.NotEqual(pgBouncerPort, (int)(await serverPort.ExecuteScalarAsync())!);
        }
        var id = $"led_{Guid.NewGuid():N}";
        await using (var insert = new NpgsqlCommand(
            "insert into ledger_entries (id, account, amount_minor, currency, value_date, reference) values ($1, $2, $3, $4, $5, $6)", conn))
        {
            insert.Parameters.Add(new() { Value = id });
            insert.Parameters.Add(new() { Value = "acct_main" });
            insert.Parameters.Add(new() { Value = 5_000_000_00L });
            insert.Parameters.Add(new() { Value = "USD" });
            insert.Parameters.Add(new() { Value = new DateOnly(2026, 11, 20) });
            insert.Parameters.Add(new() { Value = "WIRE-42" });
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        await using var select = new NpgsqlCommand("select amount_minor, currency, value_date, reference from ledger_entries where id = $1", conn);
        select.Parameters.Add(new() { Value = id });
        await using var reader = await select.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(5_000_000_00L, reader.GetInt64(0));
        Assert.Equal("USD", reader.GetString(1));
        Assert.Equal(new DateOnly(2026, 11, 20), reader.GetFieldValue<DateOnly>(2));
        Assert.Equal("WIRE-42", reader.GetString(3));
    }

    [Fact]
    public async Task TwoHundredConcurrentCallers_ThroughBulkhead_NeverExceedTheCapOnTheServer()
    {
        const int callers = 200;
        const int cap = 8;
        var options = _db.Options(cap);
        await using var dataSource = ReconDataSource.Create(options);
        using var bulkhead = new DatabaseBulkhead(dataSource, options);
        await using var sampler = new ServerConnectionSampler(_db.Name);

        var tasks = Enumerable.Range(0, callers).Select(i => bulkhead.RunAsync(async (conn, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select $1::int from pg_sleep(0.02)", conn);
            cmd.Parameters.Add(new() { Value = i });
            return (int)(await cmd.ExecuteScalarAsync(ct))!;
        }));
        var results = await Task.WhenAll(tasks);
        var peakServer = await sampler.StopAsync();

        Assert.Equal(Enumerable.Range(0, callers), results.Order());
        Assert.Equal(cap, bulkhead.PeakInUse); // contention really happened, and never past the cap
        Assert.InRange(peakServer, 1, cap);
    }

    [Fact]
    public async Task TwoHundredClientConnections_WithoutBulkhead_PgBouncerHoldsServerAtPoolSize()
    {
        // Each caller opens its own client connection (no app-side cap): PgBouncer accepts all 200 and
        // multiplexes them onto at most default_pool_size (50) + reserve_pool_size (10) server connections.
        const int callers = 200;
        const int poolSizePlusReserve = 60;
        await using var sampler = new ServerConnectionSampler(_db.Name);
        var builder = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Pooling = false, MaxAutoPrepare = 0, NoResetOnClose = true, Timeout = 60, CommandTimeout = 60 };

        var tasks = Enumerable.Range(0, callers).Select(async i =>
        {
            await using var conn = new NpgsqlConnection(builder.ConnectionString);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("select $1::int from pg_sleep(0.05)", conn);
            cmd.Parameters.Add(new() { Value = i });
            return (int)(await cmd.ExecuteScalarAsync())!;
        });
        var results = await Task.WhenAll(tasks);
        var peakServer = await sampler.StopAsync();

        Assert.Equal(Enumerable.Range(0, callers), results.Order());
        Assert.InRange(peakServer, 1, poolSizePlusReserve);
    }

    [Fact]
    public async Task Bulkhead_AllSlotsHeldPastTheWait_FailsWithTheSettingToChange()
    {
        var options = _db.Options(1);
        options.BulkheadWaitTimeout = TimeSpan.FromMilliseconds(200);
        await using var dataSource = ReconDataSource.Create(options);
        using var bulkhead = new DatabaseBulkhead(dataSource, options);
        var release = new TaskCompletionSource();
        var holder = bulkhead.RunAsync(async (_, _) => await release.Task);
        while (bulkhead.InUse == 0)
        {
            await Task.Yield();
        }

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => bulkhead.RunAsync((_, _) => Task.FromResult(1)));
        release.SetResult();
        await holder;

        Assert.Contains("MaxConcurrentOperations", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConnectionString_ForTransactionPooling_DisablesPreparationAndResetAndCapsThePool()
    {
        var built = ReconDataSource.BuildConnectionString(new DatabaseOptions
        {
            ConnectionString = "Host=127.0.0.1;Port=6432;Database=x;Username=u;Password=p;Max Auto Prepare=20;Maximum Pool Size=100",
            MaxConcurrentOperations = 12,
        });

        Assert.Equal(0, built.MaxAutoPrepare);
        Assert.True(built.NoResetOnClose);
        Assert.Equal(12, built.MaxPoolSize);
    }

    [Fact]
    public void ConnectionString_Missing_SaysWhichSettingToSet()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ReconDataSource.BuildConnectionString(new DatabaseOptions()));

        Assert.Contains("Recon__Database__ConnectionString", ex.Message, StringComparison.Ordinal);
    }
}
