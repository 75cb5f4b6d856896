; Inno Setup 6 script for photosim (64-bit Windows). Built by .github/workflows/package.yml:
;
;   iscc /DAppVersion=0.1.0 packaging\windows\photosim.iss
;
; Input: the PyInstaller one-folder bundle in build\pkg-dist\photosim (photosim.exe is the windowed app,
; photosim-cli.exe the same program with a console for the command line and --self-test).
; Installs per user by default (no administrator needed), or for all users if the user picks that.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir AddBackslash(SourcePath) + "..\..\build\pkg-dist\photosim"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif

[Setup]
; AppId identifies the app for upgrades and uninstall; never change it. ({{ escapes the brace.)
AppId={{6E0C3C9B-52F4-4C1E-9F7E-2B9F4C7A1D35}
AppName=photosim
AppVersion={#AppVersion}
AppVerName=photosim {#AppVersion}
AppPublisher=photosim developers
AppPublisherURL=https://github.com/photosim/photosim
DefaultDirName={autopf}\photosim
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=photosim-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\photosim.ico
UninstallDisplayIcon={app}\photosim.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\photosim"; Filename: "{app}\photosim.exe"; Comment: "Find similar photos in your own photo library"
Name: "{autodesktop}\photosim"; Filename: "{app}\photosim.exe"; Tasks: desktopicon

[Registry]
; "Find similar photos" on every image file's right-click menu in Explorer (per user or per machine,
; whichever the install is): Windows' SystemFileAssociations\image covers every picture type.
Root: HKA; Subkey: "Software\Classes\SystemFileAssociations\image\shell\photosim.findsimilar"; ValueType: string; ValueName: ""; ValueData: "Find similar photos"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\SystemFileAssociations\image\shell\photosim.findsimilar"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\photosim.exe,0"
Root: HKA; Subkey: "Software\Classes\SystemFileAssociations\image\shell\photosim.findsimilar\command"; ValueType: string; ValueName: ""; ValueData: """{app}\photosim.exe"" --find ""%1"""

[Run]
Filename: "{app}\photosim.exe"; Description: "{cm:LaunchProgram,photosim}"; Flags: nowait postinstall skipifsilent
