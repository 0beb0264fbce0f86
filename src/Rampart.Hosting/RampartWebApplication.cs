using Microsoft.AspNetCore.Builder;

namespace Rampart.Hosting;

/// <summary>
/// Creates the web host of every long-running verb (the daemon, serve, check --watch's /metrics), configured by Rampart
/// alone. ASP.NET Core's default content root is the working directory: it reads appsettings.json there and, to reload
/// it, watches that directory and every one below it (an inotify watch each). Started from / as a service is, that walked
/// the whole file system before the first answer (8 s and about 60,000 watches on a development machine) and let a stray
/// appsettings.json in the working directory change what is served. Here the content root is the program's own
/// directory and nothing is watched.
/// </summary>
public static class RampartWebApplication
{
    public static WebApplicationBuilder CreateSlimBuilder() => WebApplication.CreateSlimBuilder(new WebApplicationOptions
    {
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
        ContentRootPath = AppContext.BaseDirectory,
    });
}
