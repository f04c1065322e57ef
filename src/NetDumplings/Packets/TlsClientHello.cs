using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NetDumplings.Packets;

/// <summary>
/// A TLS ClientHello (RFC 8446 section 4.1.2; RFC 5246 for earlier versions), read in place from the bytes
/// of a TLS record: the offered version, cipher suites and extensions, and from the extensions the server
/// name (SNI), ALPN protocols, supported versions, groups, point formats and signature algorithms; and the
/// JA3 and JA4 client fingerprints computed from them. Only the hello's first record is read (a hello
/// split over several records is rare); a hello split over TCP segments must be put together first
/// (<see cref="RecordLength"/> says how long it is).
/// </summary>
public readonly ref struct TlsClientHello
{
    public const int ExtensionServerName = 0, ExtensionSupportedGroups = 10, ExtensionPointFormats = 11,
        ExtensionSignatureAlgorithms = 13, ExtensionAlpn = 16, ExtensionSupportedVersions = 43;

    private readonly ReadOnlySpan<byte> _ciphers;      // 2 bytes each
    private readonly ReadOnlySpan<byte> _extensions;   // type, length, data, ...

    private TlsClientHello(ushort version, ReadOnlySpan<byte> ciphers, ReadOnlySpan<byte> extensions)
    {
        LegacyVersion = version;
        _ciphers = ciphers;
        _extensions = extensions;
    }

    /// <summary>The version field of the hello itself (0x0303 for TLS 1.2 and 1.3 alike), which JA3 uses.</summary>
    public ushort LegacyVersion { get; }

    /// <summary>True when the payload starts like a TLS handshake record (content type 22, version 3.x).</summary>
    public static bool LooksLikeHandshake(ReadOnlySpan<byte> payload) =>
        payload.Length >= 6 && payload[0] == 0x16 && payload[1] == 3 && payload[2] <= 4 && payload[5] == 1;

    /// <summary>The whole first record's length (header included) when the payload starts a ClientHello record, else 0.</summary>
    public static int RecordLength(ReadOnlySpan<byte> payload) =>
        LooksLikeHandshake(payload) ? 5 + BinaryPrimitives.ReadUInt16BigEndian(payload[3..]) : 0;

    /// <summary>Reads the ClientHello in the record at the start of <paramref name="payload"/>; false when it is not one or does not fit.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out TlsClientHello hello)
    {
        hello = default;
        var recordLength = RecordLength(payload);
        if (recordLength == 0 || payload.Length < recordLength) return false;
        var record = payload[5..recordLength];
        if (record.Length < 4) return false;
        var length = (record[1] << 16) | (record[2] << 8) | record[3];
        if (record.Length < 4 + length) return false;
        var body = record.Slice(4, length);

        // version, random, session id, cipher suites, compression methods, extensions (optional before TLS 1.2).
        if (body.Length < 35) return false;
        var version = BinaryPrimitives.ReadUInt16BigEndian(body);
        var at = 34;
        at += 1 + body[at];
        if (body.Length < at + 2) return false;
        int cipherLength = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
        if ((cipherLength & 1) != 0 || body.Length < at + 2 + cipherLength) return false;
        var ciphers = body.Slice(at + 2, cipherLength);
        at += 2 + cipherLength;
        if (body.Length < at + 1 || body.Length < at + 1 + body[at]) return false;
        at += 1 + body[at];
        var extensions = ReadOnlySpan<byte>.Empty;
        if (body.Length >= at + 2)
        {
            int extensionsLength = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
            if (body.Length < at + 2 + extensionsLength) return false;
            extensions = body.Slice(at + 2, extensionsLength);
            // Every extension must fit, so the readers below never meet a cut one.
            for (var e = 0; e < extensions.Length;)
            {
                if (extensions.Length < e + 4) return false;
                e += 4 + BinaryPrimitives.ReadUInt16BigEndian(extensions[(e + 2)..]);
                if (e > extensions.Length) return false;
            }
        }
        hello = new TlsClientHello(version, ciphers, extensions);
        return true;
    }

    /// <summary>GREASE values (RFC 8701): 0x0A0A, 0x1A1A, ... 0xFAFA, which fingerprints leave out.</summary>
    public static bool IsGrease(int value) => (value & 0x0F0F) == 0x0A0A && (value >> 8) == (value & 0xFF);

    public int CipherCount => _ciphers.Length / 2;

    public ushort Cipher(int index) => BinaryPrimitives.ReadUInt16BigEndian(_ciphers[(index * 2)..]);

    /// <summary>The extensions' types in the order sent; <paramref name="types"/> must hold one per 4 bytes of extensions.</summary>
    public int ExtensionTypes(Span<ushort> types)
    {
        var count = 0;
        for (var e = 0; e + 4 <= _extensions.Length; e += 4 + BinaryPrimitives.ReadUInt16BigEndian(_extensions[(e + 2)..]))
            types[count++] = BinaryPrimitives.ReadUInt16BigEndian(_extensions[e..]);
        return count;
    }

    /// <summary>The most extensions a hello of this size can carry.</summary>
    public int MaxExtensions => _extensions.Length / 4;

    /// <summary>The data of the first extension of the type, or false.</summary>
    public bool TryGetExtension(int type, out ReadOnlySpan<byte> data)
    {
        for (var e = 0; e + 4 <= _extensions.Length;)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(_extensions[(e + 2)..]);
            if (BinaryPrimitives.ReadUInt16BigEndian(_extensions[e..]) == type)
            {
                data = _extensions.Slice(e + 4, length);
                return true;
            }
            e += 4 + length;
        }
        data = default;
        return false;
    }

    /// <summary>The first host name in the server name extension (RFC 6066), or null.</summary>
    public string? ServerName
    {
        get
        {
            if (!TryGetExtension(ExtensionServerName, out var data) || data.Length < 2) return null;
            var list = data[2..Math.Min(data.Length, 2 + BinaryPrimitives.ReadUInt16BigEndian(data))];
            // Entries: type (0 = host name), 2-byte length, name.
            for (var at = 0; at + 3 <= list.Length;)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(list[(at + 1)..]);
                if (at + 3 + length > list.Length) return null;
                if (list[at] == 0) return DnsMessage.NameText(list.Slice(at + 3, length));
                at += 3 + length;
            }
            return null;
        }
    }

    /// <summary>The ALPN protocol names offered (RFC 7301), in order; empty when none.</summary>
    public List<string> AlpnProtocols
    {
        get
        {
            var names = new List<string>();
            foreach (var name in AlpnValues()) names.Add(DnsMessage.NameText(name.Span));
            return names;
        }
    }

    private List<ReadOnlyMemory<byte>> AlpnValues()
    {
        var values = new List<ReadOnlyMemory<byte>>();
        if (!TryGetExtension(ExtensionAlpn, out var data) || data.Length < 2) return values;
        var list = data[2..Math.Min(data.Length, 2 + BinaryPrimitives.ReadUInt16BigEndian(data))];
        for (var at = 0; at < list.Length;)
        {
            var length = list[at];
            if (at + 1 + length > list.Length) break;
            values.Add(list.Slice(at + 1, length).ToArray());
            at += 1 + length;
        }
        return values;
    }

    /// <summary>The versions offered in supported_versions (TLS 1.3's way), GREASE left out; else the hello's own version.</summary>
    public List<ushort> OfferedVersions
    {
        get
        {
            var versions = new List<ushort>();
            if (TryGetExtension(ExtensionSupportedVersions, out var data) && data.Length >= 1)
            {
                var list = data[1..Math.Min(data.Length, 1 + data[0])];
                for (var at = 0; at + 2 <= list.Length; at += 2)
                {
                    var version = BinaryPrimitives.ReadUInt16BigEndian(list[at..]);
                    if (!IsGrease(version)) versions.Add(version);
                }
                return versions;
            }
            versions.Add(LegacyVersion);
            return versions;
        }
    }

    /// <summary>A version's name: "TLS 1.3", "SSL 3.0", "DTLS 1.2", or its number in hex.</summary>
    public static string VersionName(ushort version) => version switch
    {
        0x0304 => "TLS 1.3", 0x0303 => "TLS 1.2", 0x0302 => "TLS 1.1", 0x0301 => "TLS 1.0", 0x0300 => "SSL 3.0", 0x0002 => "SSL 2.0",
        0xFEFF => "DTLS 1.0", 0xFEFD => "DTLS 1.2", 0xFEFC => "DTLS 1.3",
        _ => $"0x{version:x4}",
    };

    // The 2-byte values of a list extension (supported groups, signature algorithms) after its 2-byte length.
    private List<ushort> ShortList(int type)
    {
        var values = new List<ushort>();
        if (!TryGetExtension(type, out var data) || data.Length < 2) return values;
        var list = data[2..Math.Min(data.Length, 2 + BinaryPrimitives.ReadUInt16BigEndian(data))];
        for (var at = 0; at + 2 <= list.Length; at += 2)
        {
            var value = BinaryPrimitives.ReadUInt16BigEndian(list[at..]);
            if (!IsGrease(value)) values.Add(value);
        }
        return values;
    }

    /// <summary>
    /// The JA3 string (Salesforce's JA3): the hello's version, then cipher suites, extensions, supported groups
    /// and point formats, each as decimal values joined by '-', GREASE left out; fields joined by ','.
    /// </summary>
    public string Ja3String
    {
        get
        {
            var text = new StringBuilder(256);
            text.Append(LegacyVersion).Append(',');
            var first = true;
            for (var i = 0; i < CipherCount; i++)
            {
                var cipher = Cipher(i);
                if (IsGrease(cipher)) continue;
                if (!first) text.Append('-');
                text.Append(cipher);
                first = false;
            }
            text.Append(',');
            Span<ushort> types = stackalloc ushort[MaxExtensions];
            var count = ExtensionTypes(types);
            first = true;
            foreach (var type in types[..count])
            {
                if (IsGrease(type)) continue;
                if (!first) text.Append('-');
                text.Append(type);
                first = false;
            }
            text.Append(',').AppendJoin('-', ShortList(ExtensionSupportedGroups)).Append(',');
            if (TryGetExtension(ExtensionPointFormats, out var formats) && formats.Length >= 1)
            {
                var list = formats[1..Math.Min(formats.Length, 1 + formats[0])];
                for (var i = 0; i < list.Length; i++)
                {
                    if (i > 0) text.Append('-');
                    text.Append(list[i]);
                }
            }
            return text.ToString();
        }
    }

    /// <summary>The JA3 fingerprint: the MD5 of <see cref="Ja3String"/> in lower-case hex.</summary>
    public string Ja3 => Convert.ToHexStringLower(MD5.HashData(Encoding.ASCII.GetBytes(Ja3String)));

    /// <summary>
    /// The JA4 fingerprint (FoxIO's JA4 for TLS over TCP, not its other variants): "t", the highest version offered,
    /// "d" with a server name or "i" without, the counts of cipher suites and extensions, the first and last
    /// characters of the first ALPN value; then a hash of the sorted cipher suites, and a hash of the sorted
    /// extensions (less SNI and ALPN) with the signature algorithms in their order. GREASE is left out everywhere.
    /// </summary>
    public string Ja4
    {
        get
        {
            var versions = OfferedVersions;
            var highest = 0;
            foreach (var version in versions)
                if (VersionRank(version) > VersionRank((ushort)highest)) highest = version;
            var versionText = (ushort)highest switch
            {
                0x0304 => "13", 0x0303 => "12", 0x0302 => "11", 0x0301 => "10", 0x0300 => "s3", 0x0002 => "s2",
                0xFEFF => "d1", 0xFEFD => "d2", 0xFEFC => "d3", _ => "00",
            };

            var ciphers = new List<ushort>(CipherCount);
            for (var i = 0; i < CipherCount; i++)
                if (!IsGrease(Cipher(i))) ciphers.Add(Cipher(i));
            Span<ushort> types = stackalloc ushort[MaxExtensions];
            var count = ExtensionTypes(types);
            var extensions = new List<ushort>(count);
            var extensionCount = 0;
            var sni = false;
            foreach (var type in types[..count])
            {
                if (IsGrease(type)) continue;
                extensionCount++;
                if (type == ExtensionServerName) sni = true;
                if (type is not (ExtensionServerName or ExtensionAlpn)) extensions.Add(type);
            }

            var a = $"t{versionText}{(sni ? 'd' : 'i')}{Math.Min(ciphers.Count, 99):00}{Math.Min(extensionCount, 99):00}{AlpnChars()}";
            ciphers.Sort();
            extensions.Sort();
            var b = ciphers.Count == 0 ? "000000000000" : Sha256Prefix(HexList(ciphers));
            var signatures = ShortList(ExtensionSignatureAlgorithms);
            var c = extensions.Count == 0
                ? "000000000000"
                : Sha256Prefix(signatures.Count == 0 ? HexList(extensions) : HexList(extensions) + "_" + HexList(signatures));
            return $"{a}_{b}_{c}";
        }
    }

    // Ordering by what the version means: DTLS numbers count down, and SSL 2.0 is below SSL 3.0.
    private static int VersionRank(ushort version) => version switch
    {
        >= 0x0300 and <= 0x03FF => version,
        0x0002 => 0x0200,
        0xFEFF => 0x0302, 0xFEFD => 0x0303, 0xFEFC => 0x0304,
        _ => 0,
    };

    private string AlpnChars()
    {
        var values = AlpnValues();
        if (values.Count == 0 || values[0].Length == 0) return "00";
        var value = values[0].Span;
        var (first, last) = (value[0], value[^1]);
        if (IsAlphanumeric(first) && IsAlphanumeric(last)) return $"{(char)first}{(char)last}";
        // Not printable: the first and last characters of the value in hex.
        var hex = Convert.ToHexStringLower(value);
        return $"{hex[0]}{hex[^1]}";
    }

    private static bool IsAlphanumeric(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z';

    internal static string HexList(List<ushort> values) => string.Join(',', values.Select(v => v.ToString("x4")));

    internal static string Sha256Prefix(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(text)))[..12];
}
