using Azure.Core;
using Azure.Identity;

namespace Recon.Core.Hosting;

/// <summary>The app's user-assigned managed identity (<c>Recon:Identity</c>), set by bicep in Azure and absent locally.</summary>
/// <remarks>
/// When <see cref="ClientId"/> is set, Recon reaches its storage queues, PostgreSQL and Azure Managed Redis with Entra ID
/// tokens of this identity instead of keys or passwords: the app settings then hold addresses only.
/// </remarks>
public sealed class IdentityOptions
{
    public const string SectionName = "Recon:Identity";

    /// <summary>Client id of the user-assigned identity (env <c>Recon__Identity__ClientId</c>).</summary>
    public string ClientId { get; set; } = "";

    /// <summary>Its principal (object) id: Azure Managed Redis names an Entra user by it (env <c>Recon__Identity__PrincipalId</c>).</summary>
    public string PrincipalId { get; set; } = "";

    public bool IsSet => !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>The identity's credential, or null when none is configured. Constructing it makes no network call; the
    /// first token request does.</summary>
    public TokenCredential? Credential()
        => IsSet ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(ClientId)) : null;
}

/// <summary>Where Recon's own storage queues are (<c>Recon:Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Recon:Storage";

    /// <summary>A connection string (Azurite locally: env <c>Recon__Storage__ConnectionString</c>).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The account's queue endpoint, used with <see cref="IdentityOptions"/> when there is no connection string
    /// (Azure: shared keys are off; env <c>Recon__Storage__QueueServiceUri</c>).</summary>
    public string QueueServiceUri { get; set; } = "";
}

/// <summary>Token scopes of the Azure services Recon authenticates to with its identity.</summary>
public static class EntraScopes
{
    /// <summary>Azure Database for PostgreSQL (the token is the password).</summary>
    public const string PostgreSql = "https://ossrdbms-aad.database.windows.net/.default";

    /// <summary>Azure Managed Redis / Azure Cache for Redis (the token is the password, the principal id the user).</summary>
    public const string Redis = "https://redis.azure.com/.default";
}
