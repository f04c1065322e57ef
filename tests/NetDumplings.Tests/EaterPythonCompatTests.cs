using NetDumplings.Protocol;
using System.Diagnostics;
using NetDumplings.Client;

namespace NetDumplings.Tests;

/// <summary>
/// DumplingEater and DumplingSender beside peers that are not ours: a kitchen and an eater written
/// with Debian's python3-websockets (the library the original netdumplings is built on), all
/// through our hub. The Python kitchen's dumplings reach our eater (filtered on a wildcard); our
/// sender's reach the Python eater, which closes with 4102 as nd-print does. And a Python hub that,
/// like the original, ignores the filter extension, so the eater's own filtering is what counts.
/// </summary>
public class EaterPythonCompatTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import asyncio, json, sys, time
        import websockets

        IN_URI, OUT_URI = sys.argv[1], sys.argv[2]

        async def eater(done):
            async with websockets.connect(OUT_URI) as ws:
                await ws.send(json.dumps({"eater_name": "python_eater"}))
                got = []
                while len(got) < 3:
                    msg = json.loads(await ws.recv())
                    if msg["metadata"]["kitchen"] == "csharp_kitchen":
                        got.append(msg)
                await ws.close(code=4102, reason="dumpling eater is full")
            for d in got:
                print(json.dumps(d), flush=True)
            done.set()

        async def kitchen(done):
            async with websockets.connect(IN_URI) as ws:
                await ws.send(json.dumps({"kitchen_name": "python_kitchen", "interface": "all", "filter": "",
                    "chefs": ["PyChef"], "poke_interval": 5.0}))
                for i in range(400):  # at most ~20 s
                    for chef in ("PyChef", "OtherChef"):
                        await ws.send(json.dumps({"metadata": {"chef": chef, "kitchen": "python_kitchen",
                            "creation_time": time.time(), "driver": "packet"}, "payload": {"n": i}}))
                    if done.is_set() and i > 100:
                        break
                    await asyncio.sleep(0.05)

        async def main():
            done = asyncio.Event()
            await asyncio.wait_for(asyncio.gather(eater(done), kitchen(done)), timeout=30)

        asyncio.run(main())
        """;

    [SkippableFact]
    public async Task Our_eater_and_sender_work_with_python_websockets_peers()
    {
        Skip.IfNot(File.Exists(Python) && RunQuiet("-c \"import websockets\"") == 0,
            "Debian's python3-websockets is not installed: apt-get install python3-websockets");

        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("csharp_eater") with { Chefs = ["Py*"], Count = 3 });
        var eating = Task.Run(async () =>
        {
            var got = new List<Dumpling>();
            await foreach (var d in eater.EatAsync(TestTime.Token())) got.Add(d);
            return got;
        });
        await hub.WaitForEaterAsync("csharp_eater");

        var script = Path.Combine(Path.GetTempPath(), $"nd-eater-compat-{Guid.NewGuid():n}.py");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(hub.InAddress.Uri.ToString());
            psi.ArgumentList.Add(hub.OutAddress.Uri.ToString());
            using var python = Process.Start(psi)!;
            var stdout = python.StandardOutput.ReadToEndAsync();
            var stderr = python.StandardError.ReadToEndAsync();
            await hub.WaitForEaterAsync("python_eater");

            // Our kitchen feeds until the Python eater has its three (bounded by the test's limit).
            await using (var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("csharp_kitchen")))
            {
                for (var i = 0; i < 600 && !python.HasExited; i++)
                {
                    await sender.SendAsync(DumplingCodec.Create("CSharpChef", "csharp_kitchen", DumplingDriver.Packet,
                        new Dictionary<string, object> { ["n"] = i, ["text"] = "żółw" }));
                    await Task.Delay(50);
                }
                await sender.CompleteAsync();
            }
            Assert.True(python.WaitForExit(30_000), "the Python peers did not finish");
            Assert.True(python.ExitCode == 0, await stderr);

            var fromUs = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => DumplingCodec.Parse(l)).ToList();
            Assert.Equal(3, fromUs.Count);
            Assert.All(fromUs, d => Assert.Equal("CSharpChef", d.Chef));
            Assert.All(fromUs, d => Assert.Equal("żółw", d.PayloadElement.GetProperty("text").GetString()));
            var ns = fromUs.Select(d => d.PayloadElement.GetProperty("n").GetInt32()).ToArray();
            Assert.Equal([ns[0], ns[0] + 1, ns[0] + 2], ns);
            Assert.Contains("(close 4102 dumpling eater is full)", await hub.WaitForLogAsync("Disconnected eater 'python_eater'"));

            var fromPython = await eating.WaitAsync(TestTime.Limit);
            Assert.All(fromPython, d => Assert.Equal("PyChef", d.Chef));
            Assert.All(fromPython, d => Assert.Equal("python_kitchen", d.Kitchen));
            var pns = fromPython.Select(d => d.PayloadElement.GetProperty("n").GetInt32()).ToArray();
            Assert.Equal([pns[0], pns[0] + 1, pns[0] + 2], pns);
        }
        finally
        {
            File.Delete(script);
        }
    }

    // A hub as the original behaves towards eaters: python3-websockets, every valid dumpling to every
    // eater, the chefs/kitchens extension ignored. It prints its ports and runs until stdin closes.
    private const string OriginalLikeHub = """
        import asyncio, json, sys
        import websockets

        eaters = set()

        async def kitchen(ws, path):
            await ws.recv()
            async for message in ws:
                try:
                    if "chef" not in json.loads(message).get("metadata", {}):
                        continue
                except Exception:
                    continue
                for eater in list(eaters):
                    try:
                        await eater.send(message)
                    except Exception:
                        pass

        async def eater(ws, path):
            json.loads(await ws.recv())
            eaters.add(ws)
            print("eater", flush=True)
            try:
                await ws.wait_closed()
            finally:
                eaters.discard(ws)
                print(f"closed {ws.close_code} {ws.close_reason}", flush=True)

        async def main():
            a = await websockets.serve(kitchen, "127.0.0.1", 0)
            b = await websockets.serve(eater, "127.0.0.1", 0)
            print(a.sockets[0].getsockname()[1], b.sockets[0].getsockname()[1], flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

        asyncio.run(main())
        """;

    [SkippableFact]
    public async Task Our_eater_filters_on_its_own_side_against_a_hub_that_ignores_the_extension()
    {
        Skip.IfNot(File.Exists(Python) && RunQuiet("-c \"import websockets\"") == 0,
            "Debian's python3-websockets is not installed: apt-get install python3-websockets");
        var script = Path.Combine(Path.GetTempPath(), $"nd-eater-hub-{Guid.NewGuid():n}.py");
        await File.WriteAllTextAsync(script, OriginalLikeHub);
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        using var hub = Process.Start(psi)!;
        try
        {
            var ports = (await hub.StandardOutput.ReadLineAsync().WaitAsync(TestTime.Limit))!.Split(' ').Select(int.Parse).ToArray();
            var eater = new DumplingEater(new DumplingEaterOptions
            {
                Hub = new("127.0.0.1", ports[1]), EaterName = "filtering_eater", Chefs = ["DNS*"], Kitchens = ["edge1"], Count = 3,
            });
            var eating = Task.Run(async () =>
            {
                var got = new List<Dumpling>();
                await foreach (var d in eater.EatAsync(TestTime.Token())) got.Add(d);
                return got;
            });
            Assert.Equal("eater", await hub.StandardOutput.ReadLineAsync().WaitAsync(TestTime.Limit));

            await using (var sender = await DumplingSender.ConnectAsync(new("127.0.0.1", ports[0]), new KitchenAnnouncement("edge1")))
            {
                for (var i = 0; i < 400 && !eating.IsCompleted; i++)
                {
                    await sender.SendAsync(HubFixture.Make("ARPChef", "edge1", i));
                    await sender.SendAsync(HubFixture.Make("DNSLookupChef", "core1", i));
                    await sender.SendAsync(HubFixture.Make("DNSLookupChef", "edge1", i));
                    await Task.Delay(50);
                }
                await sender.CompleteAsync();
            }
            var got = await eating.WaitAsync(TestTime.Limit);
            Assert.Equal(3, got.Count);
            Assert.All(got, d => Assert.Equal(("DNSLookupChef", "edge1"), (d.Chef, d.Kitchen)));
            // The Python side saw the close code and reason nd-print sends when it is full.
            Assert.Equal("closed 4102 dumpling eater is full", await hub.StandardOutput.ReadLineAsync().WaitAsync(TestTime.Limit));
        }
        finally
        {
            hub.StandardInput.Close();
            if (!hub.WaitForExit(5_000)) hub.Kill();
            File.Delete(script);
        }
    }

    private static int RunQuiet(string args)
    {
        using var p = Process.Start(new ProcessStartInfo(Python, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(10_000);
        return p.ExitCode;
    }
}
