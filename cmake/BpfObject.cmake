# bpfmm_bpf_object(OUT_VAR SRC [MCPU v3] [DEPENDS ...]): compile one BPF C source with clang into
# ${CMAKE_CURRENT_BINARY_DIR}/<name>.bpf.o exactly as policy authors do
# (clang -O2 -g -target bpf), and set OUT_VAR to the object's path.
find_program(BPFMM_CLANG NAMES clang clang-14 REQUIRED)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE BPFMM_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT BPFMM_MULTIARCH)
  set(BPFMM_MULTIARCH x86_64-linux-gnu)
endif()
set(BPFMM_BPF_CFLAGS -O2 -g -target bpf -Wall -Werror
    -I${PROJECT_SOURCE_DIR}/include -I/usr/include/${BPFMM_MULTIARCH})

function(bpfmm_bpf_object out_var src)
  cmake_parse_arguments(ARG "" "MCPU;NAME" "DEPENDS;FLAGS" ${ARGN})
  if(NOT ARG_MCPU)
    set(ARG_MCPU v3)
  endif()
  get_filename_component(abs ${src} ABSOLUTE)
  if(ARG_NAME)
    set(name ${ARG_NAME})
  else()
    get_filename_component(name ${src} NAME_WE)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  add_custom_command(OUTPUT ${out}
    COMMAND ${BPFMM_CLANG} ${BPFMM_BPF_CFLAGS} -mcpu=${ARG_MCPU} ${ARG_FLAGS} -c ${abs} -o ${out}
    DEPENDS ${abs} ${ARG_DEPENDS} ${PROJECT_SOURCE_DIR}/include/bpfmm/thp_policy.h
            ${PROJECT_SOURCE_DIR}/policies/thp_limits.bpf.h
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

# bpfmm_module(TARGET [DEPS lib...]): a static library from every *.c in the current source
# directory (or an INTERFACE library while the module has no sources yet). Modules list their
# dependencies explicitly so the layering in ../shared/design.md stays visible here.
function(bpfmm_module target)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  if(srcs)
    add_library(${target} STATIC ${srcs})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                         PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${M_DEPS} Threads::Threads PRIVATE ${M_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${M_DEPS})
  endif()
endfunction()
