namespace NetDumplings.Packets;

/// <summary>A layer that <see cref="PacketHeaders"/> finds in a frame.</summary>
public enum PacketLayer : byte
{
    None,
    Ethernet,
    LinuxCooked,
    LinuxCookedV2,
    Loopback,
    /// <summary>An 802.1Q VLAN tag (TPID 0x8100, or 0x9100 as pre-standard QinQ switches tag).</summary>
    Dot1Q,
    /// <summary>An 802.1ad service tag (TPID 0x88A8), the outer tag of a QinQ stack.</summary>
    Dot1AD,
    IPv4,
    IPv6,
    Arp,
    Tcp,
    Udp,
    Icmp,
    IcmpV6,
    Dns,
    /// <summary>Bytes after the last header that no parser claimed (a payload, a later fragment's data).</summary>
    Raw,
    Ppp,
    CiscoHdlc,
    /// <summary>macOS's packet tap header, naming the process and the link type of the frame after it.</summary>
    Pktap,
    /// <summary>The Per-Packet Information header some 802.11 captures carry.</summary>
    Ppi,
    Radiotap,
    Ieee80211,
    /// <summary>An 802.2 LLC header; with <see cref="Snap"/> after it, it carries an EtherType (802.11 data, 802.3 frames).</summary>
    Llc,
    Snap,
    Vxlan,
    Geneve,
    Gre,
    Erspan,
}

/// <summary>What the packet counts and a script's <c>LayerNames</c> call each layer.</summary>
public static class PacketLayerNames
{
    // scapy's names, which dashboards written for the original netdumplings look for.
    private static readonly string[] Names =
    [
        "", "Ethernet", "cooked linux", "cooked linux v2", "Loopback", "Dot1Q", "Dot1AD",
        "IP", "IPv6", "ARP", "TCP", "UDP", "ICMP", "ICMPv6", "DNS", "Raw",
        "PPP", "CiscoHDLC", "PKTAP", "PPI", "RadioTap", "802.11", "LLC", "SNAP", "VXLAN", "GENEVE", "GRE", "ERSPAN",
    ];

    public static string Of(PacketLayer layer) => Names[(int)layer];
}
