using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NetDumplings.Tests.Security;

/// <summary>Certificates made for a test with .NET's CertificateRequest: a CA, hub and client certificates it signs, and bad ones.</summary>
internal static class TestCertificates
{
    public static X509Certificate2 Authority(string name = "NetDumplings Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A hub's certificate for <paramref name="names"/> (DNS names or IP addresses), signed by <paramref name="authority"/>.</summary>
    public static X509Certificate2 Hub(X509Certificate2 authority, string[]? names = null, bool expired = false) =>
        Leaf(authority, "CN=" + (names ?? ["localhost"])[0], names ?? ["localhost", "127.0.0.1"], server: true, expired);

    public static X509Certificate2 Client(X509Certificate2 authority, string name = "test-kitchen") =>
        Leaf(authority, "CN=" + name, [], server: false, expired: false);

    private static X509Certificate2 Leaf(X509Certificate2 authority, string subject, string[] names, bool server, bool expired)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (names.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var n in names)
                if (IPAddress.TryParse(n, out var ip)) san.AddIpAddress(ip); else san.AddDnsName(n);
            request.CertificateExtensions.Add(san.Build());
        }
        var from = expired ? DateTimeOffset.UtcNow.AddDays(-10) : DateTimeOffset.UtcNow.AddDays(-1);
        var to = expired ? DateTimeOffset.UtcNow.AddDays(-2) : DateTimeOffset.UtcNow.AddDays(20);
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var signed = request.Create(authority, from, to, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Writes a certificate (and its key, when it has one) as PEM files; returns their paths.</summary>
    public static (string Certificate, string Key) WritePem(X509Certificate2 cert, string directory)
    {
        Directory.CreateDirectory(directory);
        var name = Path.Combine(directory, Guid.NewGuid().ToString("n")[..8]);
        File.WriteAllText(name + ".crt", cert.ExportCertificatePem());
        var key = cert.GetECDsaPrivateKey();
        if (key is not null) File.WriteAllText(name + ".key", key.ExportPkcs8PrivateKeyPem());
        return (name + ".crt", name + ".key");
    }
}
