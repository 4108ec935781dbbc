using Azure.Core;
using Npgsql;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting.Redis;
using Recon.Tests.Infrastructure;
using StackExchange.Redis;

namespace Recon.Tests.Hosting;

/// <summary>
/// The Entra ID sign-in paths, on the real local servers: a token is the password and (for Redis) the principal id the
/// user, exactly as Azure Database for PostgreSQL and Azure Managed Redis take them. The identity endpoint is the seam that
/// cannot run here: <see cref="FixedTokenCredential"/> hands out a token the test also set as the password.
/// </summary>
public sealed class EntraSignInTests
{
    [Fact]
    public async Task PostgreSql_NoPasswordAndACredential_SignsInWithTheTokenForTheDatabaseScope()
    {
        // the recon role's password plays the token (the test role may not create roles); the data source is given none
        var given = new NpgsqlConnectionStringBuilder(TestStack.DirectConnectionString);
        var token = given.Password!;
        var withoutPassword = new NpgsqlConnectionStringBuilder(TestStack.DirectConnectionString) { Password = null };
        var credential = new FixedTokenCredential(token);
        await using var dataSource = ReconDataSource.Create(new DatabaseOptions { ConnectionString = withoutPassword.ConnectionString }, credential);
        await using var cmd = dataSource.CreateCommand("select current_user");

        Assert.Equal(given.Username, await cmd.ExecuteScalarAsync());
        Assert.Contains("https://ossrdbms-aad.database.windows.net/.default", credential.Scopes);

        // and without the credential the same settings cannot sign in: the token is what opened the door
        await using var bare = ReconDataSource.Create(new DatabaseOptions { ConnectionString = withoutPassword.ConnectionString });
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await bare.OpenConnectionAsync());
    }

    [Fact]
    public async Task Redis_ACredential_SignsInAsThePrincipalIdWithTheTokenForTheRedisScope()
    {
        var principal = Guid.NewGuid().ToString();
        var token = $"tok-{Guid.NewGuid():N}";
        await using var admin = await ConnectionMultiplexer.ConnectAsync(TestStack.Redis + ",allowAdmin=true");
        var server = admin.GetServers().Single();
        await server.ExecuteAsync("ACL", "SETUSER", principal, "on", ">" + token, "~*", "+@all");
        try
        {
            var credential = new FixedTokenCredential(token);
            await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis, credential, principal);
            var whoami = await redis.GetDatabase().ExecuteAsync("ACL", "WHOAMI");

            Assert.Equal(principal, (string?)whoami);
            Assert.Contains("https://redis.azure.com/.default", credential.Scopes);
        }
        finally
        {
            await server.ExecuteAsync("ACL", "DELUSER", principal);
        }
    }

    /// <summary>Stands in for the managed identity endpoint: one fixed token, and the scopes it was asked for.</summary>
    private sealed class FixedTokenCredential(string token) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes.AddRange(requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
            => ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
