using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NetDumplings.WebSockets;

/// <summary>Why a peer's certificate was not accepted.</summary>
public enum CertificateProblem
{
    /// <summary>It does not chain to a trusted authority (the system store, or the one given).</summary>
    Untrusted,
    /// <summary>It has expired, or is not valid yet.</summary>
    Expired,
    /// <summary>It is not for the name (or address) the client connected to.</summary>
    WrongName,
    /// <summary>The peer sent none (a hub that requires client certificates).</summary>
    Missing,
    /// <summary>Anything else the chain reports (revoked, bad usage, broken signature).</summary>
    Invalid,
}

/// <summary>
/// TLS for hubs and their clients: loading certificates from files (PEM or PFX), the protocols we
/// allow (TLS 1.2 and 1.3), and checking a peer's certificate against a given authority, saying in
/// words what is wrong with it.
/// </summary>
public static class Tls
{
    /// <summary>TLS 1.2 and later; older versions are broken and refused.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Loads a certificate with its private key: a PFX/PKCS#12 file (no password), or a PEM file whose
    /// key is in <paramref name="keyPath"/> or in the same file. Further certificates in a PEM file
    /// (intermediates) are returned in <paramref name="chain"/>, to be sent along with it.
    /// </summary>
    /// <exception cref="CryptographicException">The file is not a certificate with a private key; the message says which.</exception>
    public static X509Certificate2 LoadCertificate(string path, string? keyPath, out X509Certificate2Collection chain)
    {
        chain = [];
        var bytes = File.ReadAllBytes(path);
        if (!LooksLikePem(bytes))
        {
            if (keyPath is not null)
                throw new CryptographicException($"'{path}' is not a PEM file; a PFX file holds its own key, so give no key file with it.");
            var pfx = X509CertificateLoader.LoadPkcs12(bytes, null, X509KeyStorageFlags.Exportable);
            if (!pfx.HasPrivateKey) throw new CryptographicException($"The PFX file '{path}' holds no private key.");
            return pfx;
        }
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(path, keyPath);
        }
        catch (CryptographicException e)
        {
            throw new CryptographicException(keyPath is null
                ? $"'{path}' holds no private key that matches its first certificate: give the key's PEM file too (-KeyPath). {e.Message}"
                : $"'{keyPath}' holds no private key for the certificate in '{path}'. {e.Message}", e);
        }
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        foreach (var extra in all.Skip(1)) chain.Add(extra);
        // A key from a PEM file is ephemeral; some platforms' TLS wants it in a persistable form.
        if (OperatingSystem.IsWindows())
            leaf = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
        return leaf;
    }

    /// <summary>Loads the certificates of one or more authorities from a PEM file (or a single DER certificate).</summary>
    public static X509Certificate2Collection LoadAuthority(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var collection = new X509Certificate2Collection();
        if (LooksLikePem(bytes)) collection.ImportFromPemFile(path);
        else collection.Add(X509CertificateLoader.LoadCertificate(bytes));
        if (collection.Count == 0) throw new CryptographicException($"'{path}' holds no certificate.");
        return collection;
    }

    private static bool LooksLikePem(byte[] bytes) =>
        System.Text.Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 64 * 1024)).Contains("-----BEGIN", StringComparison.Ordinal);

    /// <summary>
    /// Checks a peer's certificate. With <paramref name="authority"/>, the chain must end at one of
    /// those certificates (and the system store does not count); without, the platform's verdict
    /// (<paramref name="errors"/>) stands. <paramref name="expectedName"/> is null for client certificates (a name is checked by the platform, in <paramref name="errors"/>).
    /// Returns null when it is good, or what is wrong.
    /// </summary>
    public static (CertificateProblem Problem, string Reason)? Check(X509Certificate? certificate, X509Chain? presented,
        SslPolicyErrors errors, X509Certificate2Collection? authority, string? expectedName)
    {
        if (certificate is null) return (CertificateProblem.Missing, "no certificate was presented");
        var cert = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (expectedName is not null && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return (CertificateProblem.WrongName, $"the certificate is for {Names(cert)}, not for '{expectedName}'");
        if (authority is null)
        {
            if (!errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)) return null;
            return Describe(cert, presented?.ChainStatus ?? [], "a certificate authority this machine trusts");
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.Equals(cert)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        if (chain.Build(cert)) return null;
        return Describe(cert, chain.ChainStatus, "the certificate authority given");
    }

    private static (CertificateProblem, string) Describe(X509Certificate2 cert, X509ChainStatus[] status, string trusted)
    {
        var flags = status.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
            return (CertificateProblem.Expired, DateTime.Now < cert.NotBefore
                ? $"the certificate '{cert.Subject}' is not valid until {cert.NotBefore:u}"
                : $"the certificate '{cert.Subject}' expired on {cert.NotAfter:u}");
        if (flags.HasFlag(X509ChainStatusFlags.UntrustedRoot) || flags.HasFlag(X509ChainStatusFlags.PartialChain))
            return (CertificateProblem.Untrusted, $"the certificate '{cert.Subject}' (issued by '{cert.Issuer}') is not signed by {trusted}");
        var words = string.Join("; ", status.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return (CertificateProblem.Invalid, $"the certificate '{cert.Subject}' is not valid: {(words.Length > 0 ? words : flags.ToString())}");
    }

    /// <summary>The names and addresses a certificate is for, for a person.</summary>
    public static string Names(X509Certificate2 cert)
    {
        var names = new List<string>();
        foreach (var extension in cert.Extensions)
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(a => a.ToString()));
            }
        if (names.Count == 0) names.Add(cert.GetNameInfo(X509NameType.SimpleName, false));
        return string.Join(", ", names.Select(n => $"'{n}'"));
    }
}
